"""Stripe's subscription quickstart (docs.stripe.com/billing/subscriptions/build-subscriptions)
over gRPC: CreateSubscription with payment_behavior=default_incomplete and
payment_settings.save_default_payment_method=on_subscription charges nothing and leaves the
first invoice's payment intent for the customer; the browser confirms it with the publishable
key and its client_secret; the invoice is then paid, the subscription active, and renewals
charge the payment method the customer brought."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import grpc
import pytest
from paycore.client import Paycore, connect, idempotency_key
from paycore.tools.psp import cards
from paycore.v1 import customer_pb2, payment_pb2, subscription_pb2

from tests.customer.support import failure, new_customer
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import (
    DAY,
    HOUR,
    Billing,
    add_months,
    captured,
    net,
    open_billing,
    utc,
)

S = subscription_pb2
START = utc(2028, 3, 10)
PRICE = 1500
DEFAULT_INCOMPLETE = "default_incomplete"
ON_SUBSCRIPTION = S.CreateSubscriptionRequest.PaymentSettings(
    save_default_payment_method="on_subscription"
)


async def _quickstart(
    billing: Billing,
    price: str,
    customer: str,
    key: str = "",
    payment_behavior: str = DEFAULT_INCOMPLETE,
) -> S.Subscription:
    """The quickstart's server call: no payment method; the customer has none either."""
    request = S.CreateSubscriptionRequest(
        customer=customer,
        items=[S.CreateSubscriptionRequest.Item(price=price)],
        test_clock=billing.clock_id,
        payment_behavior=payment_behavior,
        payment_settings=ON_SUBSCRIPTION,
    )
    created: S.Subscription = await billing.api.CreateSubscription(
        request, metadata=idempotency_key(key) if key else None
    )
    return created


async def _intent(shop: Shop, intent_id: str) -> payment_pb2.PaymentIntent:
    found: payment_pb2.PaymentIntent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=intent_id)
    )
    return found


async def _confirm_in_browser(
    browser: Paycore, intent: payment_pb2.PaymentIntent, payment_method: str
) -> payment_pb2.PaymentIntent:
    """Stripe.js's confirmPayment: the publishable key, the client_secret, the card."""
    confirmed: payment_pb2.PaymentIntent = await browser.payments.ConfirmPaymentIntent(
        payment_pb2.ConfirmPaymentIntentRequest(
            id=intent.id, client_secret=intent.client_secret, payment_method=payment_method
        )
    )
    return confirmed


async def _settled(billing: Billing, subscription_id: str) -> S.Subscription:
    """What `paycore worker` does within a second of the payment: one billing pass."""
    await billing.work_once()
    return await billing.subscription(subscription_id)


async def test_the_quickstart_flow_pays_the_first_invoice_and_renews_on_the_saved_card(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(PRICE)
    customer = (await new_customer(shop.client, email="new@shop.test")).id

    created = await _quickstart(billing, price, customer, key="quickstart-1")
    again = await _quickstart(billing, price, customer, key="quickstart-1")
    assert again.id == created.id
    assert created.status == S.SUBSCRIPTION_STATUS_INCOMPLETE
    assert created.default_payment_method == ""
    invoice = await billing.invoice(created.latest_invoice)
    assert (invoice.status, invoice.amount_due, invoice.attempt_count) == (
        S.INVOICE_STATUS_OPEN,
        PRICE,
        0,
    )
    intent = await _intent(shop, invoice.payment_intent)
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert (intent.amount, intent.currency, intent.customer) == (PRICE, "usd", customer)
    assert intent.client_secret.startswith(f"{intent.id}_secret_")
    assert captured(psp) == []  # nothing charged
    listed = await billing.api.ListSubscriptions(S.ListSubscriptionsRequest(customer=customer))
    assert [found.id for found in listed.data] == [created.id]
    # A billing pass before the customer pays changes nothing.
    assert (await _settled(billing, created.id)).status == S.SUBSCRIPTION_STATUS_INCOMPLETE

    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        confirmed = await _confirm_in_browser(browser, intent, "pm_card_visa")
    assert confirmed.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED

    active = await _settled(billing, created.id)
    assert active.status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert active.default_payment_method == confirmed.payment_method
    paid = await billing.invoice(invoice.id)
    assert (paid.status, paid.amount_paid, paid.payment_intent) == (
        S.INVOICE_STATUS_PAID,
        PRICE,
        intent.id,
    )
    # The customer's payment is the invoice's first attempt, as Stripe counts it.
    assert paid.attempt_count == 1
    assert await billing.event_count("invoice.paid") == 1
    await billing.work_once()  # exactly once
    assert await billing.event_count("invoice.paid") == 1
    assert [charge.amount for charge in captured(psp)] == [PRICE]

    await billing.advance(add_months(START, 1))
    renewal = (await billing.invoices(created.id))[-1]
    assert renewal.billing_reason == S.INVOICE_BILLING_REASON_SUBSCRIPTION_CYCLE
    assert renewal.status == S.INVOICE_STATUS_PAID
    renewal_intent = await _intent(shop, renewal.payment_intent)
    assert renewal_intent.payment_method == confirmed.payment_method
    assert [charge.amount for charge in captured(psp)] == [PRICE, PRICE]
    assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_ACTIVE
    await billing.assert_books(net([PRICE, PRICE]))


async def test_a_declined_confirmation_leaves_it_incomplete_and_another_card_pays_it(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(PRICE)
    customer = (await new_customer(shop.client)).id
    created = await _quickstart(billing, price, customer)
    invoice = await billing.invoice(created.latest_invoice)
    intent = await _intent(shop, invoice.payment_intent)
    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        declined = await _confirm_in_browser(browser, intent, "pm_card_chargeDeclined")
        assert declined.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
        assert declined.last_payment_error.code == "CARD_DECLINED", declined
        still = await _settled(billing, created.id)
        assert still.status == S.SUBSCRIPTION_STATUS_INCOMPLETE
        # The declined confirmation was the invoice's first attempt (Stripe's count), once.
        tried = await billing.invoice(invoice.id)
        assert (tried.status, tried.attempt_count) == (S.INVOICE_STATUS_OPEN, 1)
        assert await billing.event_count("invoice.payment_failed") == 1
        await billing.work_once()
        assert (await billing.invoice(invoice.id)).attempt_count == 1
        assert await billing.event_count("invoice.payment_failed") == 1
        confirmed = await _confirm_in_browser(browser, intent, "pm_card_visa")
    assert confirmed.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    active = await _settled(billing, created.id)
    assert (active.status, active.default_payment_method) == (
        S.SUBSCRIPTION_STATUS_ACTIVE,
        confirmed.payment_method,
    )
    paid = await billing.invoice(invoice.id)
    assert (paid.status, paid.attempt_count) == (S.INVOICE_STATUS_PAID, 1)
    await billing.assert_books(net([PRICE]))


async def test_unpaid_for_23_hours_it_expires_and_its_intent_can_no_longer_be_paid(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(PRICE)
    customer = (await new_customer(shop.client)).id
    created = await _quickstart(billing, price, customer)
    invoice = await billing.invoice(created.latest_invoice)
    await billing.advance(START + 23 * HOUR - 1)
    assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_INCOMPLETE
    await billing.advance(START + 23 * HOUR)
    expired = await billing.subscription(created.id)
    assert expired.status == S.SUBSCRIPTION_STATUS_INCOMPLETE_EXPIRED
    assert (await billing.invoice(invoice.id)).status == S.INVOICE_STATUS_VOID
    intent = await _intent(shop, invoice.payment_intent)
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_CANCELED
    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        await failure(
            _confirm_in_browser(browser, intent, "pm_card_visa"),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
    await billing.advance(START + 2 * DAY)
    assert (await billing.subscription(created.id)).status == (
        S.SUBSCRIPTION_STATUS_INCOMPLETE_EXPIRED
    )
    assert captured(psp) == []


async def test_pay_invoice_withdraws_the_customers_intent_so_nothing_is_paid_twice(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(PRICE)
    created = await _quickstart(billing, price, billing.customer)
    invoice = await billing.invoice(created.latest_invoice)
    customers_intent = await _intent(shop, invoice.payment_intent)
    paid = await billing.api.PayInvoice(
        S.PayInvoiceRequest(id=invoice.id, payment_method=billing.card)
    )
    paid = await billing.wait_invoice(paid.id, S.INVOICE_STATUS_PAID)
    assert paid.status == S.INVOICE_STATUS_PAID
    withdrawn = await _intent(shop, customers_intent.id)
    assert withdrawn.status == payment_pb2.PAYMENT_INTENT_STATUS_CANCELED
    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        await failure(
            _confirm_in_browser(browser, customers_intent, "pm_card_visa"),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
    assert [charge.amount for charge in captured(psp)] == [PRICE]
    await billing.assert_books(net([PRICE]))


async def test_an_unknown_payment_behavior_is_refused_naming_it(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(PRICE)
    error = await failure(
        _quickstart(billing, price, billing.customer, payment_behavior="pending_if_incomplete"),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert error.param == "payment_behavior", error
    bad = S.CreateSubscriptionRequest.PaymentSettings(save_default_payment_method="always")
    error = await failure(
        billing.api.CreateSubscription(
            S.CreateSubscriptionRequest(
                customer=billing.customer,
                items=[S.CreateSubscriptionRequest.Item(price=price)],
                test_clock=billing.clock_id,
                payment_settings=bad,
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert error.param == "payment_settings.save_default_payment_method", error


async def test_error_if_incomplete_refuses_a_declined_create_and_leaves_nothing_active(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(PRICE)
    declining = await billing.card_of_customer(cards.CARD_DECLINED)

    def create() -> Coroutine[Any, Any, S.Subscription]:
        return billing.subscribe(
            [(price, 1)],
            payment_method=declining,
            key="error-if-incomplete",
            payment_behavior="error_if_incomplete",
        )

    error = await failure(create(), grpc.StatusCode.FAILED_PRECONDITION)
    assert error.reason == "CARD_DECLINED", error
    assert error.metadata.get("decline_code") == "generic_decline", error
    again = await failure(create(), grpc.StatusCode.FAILED_PRECONDITION)  # replayed
    assert again.reason == "CARD_DECLINED", again
    [subscription] = (
        await billing.api.ListSubscriptions(
            S.ListSubscriptionsRequest(
                customer=billing.customer, status=S.SUBSCRIPTION_STATUS_FILTER_INCOMPLETE_EXPIRED
            )
        )
    ).data
    active = await billing.api.ListSubscriptions(
        S.ListSubscriptionsRequest(status=S.SUBSCRIPTION_STATUS_FILTER_ACTIVE)
    )
    assert list(active.data) == []
    assert (await billing.invoice(subscription.latest_invoice)).status == S.INVOICE_STATUS_VOID
    assert captured(psp) == []
    await billing.assert_books(0)

    paid = await billing.subscribe(
        [(price, 1)], key="error-if-incomplete-2", payment_behavior="error_if_incomplete"
    )
    assert paid.status == S.SUBSCRIPTION_STATUS_ACTIVE


@pytest.mark.parametrize("ending", ["cancel", "delete_customer", "delete_clock"])
async def test_ending_it_withdraws_the_customers_intent(
    payin: PayIn, shop: Shop, psp: PspSimulator, ending: str
) -> None:
    """CancelSubscription, DeleteCustomer and DeleteTestClock each end the subscription now:
    the intent left for the customer can no longer pay it."""
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(PRICE)
    customer = (await new_customer(shop.client)).id
    created = await _quickstart(billing, price, customer)
    invoice = await billing.invoice(created.latest_invoice)
    if ending == "cancel":
        await billing.api.CancelSubscription(S.CancelSubscriptionRequest(id=created.id))
    elif ending == "delete_customer":
        await shop.client.customers.DeleteCustomer(customer_pb2.DeleteCustomerRequest(id=customer))
    else:
        await billing.api.DeleteTestClock(S.DeleteTestClockRequest(id=billing.clock_id))
    intent = await _intent(shop, invoice.payment_intent)
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_CANCELED
    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        await failure(
            _confirm_in_browser(browser, intent, "pm_card_visa"),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
    assert captured(psp) == []


async def test_on_subscription_saves_the_charged_method_with_allow_incomplete_too(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(PRICE)
    await billing.set_customer_default(billing.card)
    saving = await billing.subscribe(
        [(price, 1)], payment_method="", payment_settings=ON_SUBSCRIPTION
    )
    assert (saving.status, saving.default_payment_method) == (
        S.SUBSCRIPTION_STATUS_ACTIVE,
        billing.card,
    )
    plain = await billing.subscribe([(price, 1)], payment_method="")
    assert (plain.status, plain.default_payment_method) == (S.SUBSCRIPTION_STATUS_ACTIVE, "")
    await billing.assert_books(net([PRICE, PRICE]))
