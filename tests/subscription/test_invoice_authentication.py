"""Invoices paid with a card that must authenticate (3-D Secure), as Stripe bills them: an
invoice whose payment intent needs the customer's action sends `invoice.payment_action_required`
and its subscription stays incomplete or past_due; once the customer completes the
authentication and the intent succeeds, the invoice is paid and the subscription active. An
off-session renewal of such a card fails `authentication_required`: dunning goes on as for a
decline, and the merchant hears `invoice.payment_action_required` to bring the customer back."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from paycore.client import Paycore, connect
from paycore.v1 import payment_pb2, subscription_pb2

from tests.customer.support import new_customer
from tests.helpers import PspSimulator, rich_error
from tests.payment.shop import PayIn, Shop, fee
from tests.subscription.billing import Billing, add_months, captured, open_billing, utc

S = subscription_pb2
P = payment_pb2
START = utc(2028, 5, 10)
PRICE = 2500
ALWAYS = "pm_card_authenticationRequired"  # Stripe's 4000002760003184
ACTION_REQUIRED = "invoice.payment_action_required"


async def _intent(shop: Shop, intent_id: str) -> P.PaymentIntent:
    found: P.PaymentIntent = await shop.client.payments.GetPaymentIntent(
        P.GetPaymentIntentRequest(id=intent_id)
    )
    return found


async def _confirm(browser: Paycore, intent: P.PaymentIntent, method: str = "") -> P.PaymentIntent:
    """Stripe.js's confirmCardPayment: the publishable key and the client_secret."""
    confirmed: P.PaymentIntent = await browser.payments.ConfirmPaymentIntent(
        P.ConfirmPaymentIntentRequest(
            id=intent.id, client_secret=intent.client_secret, payment_method=method
        )
    )
    return confirmed


async def _incomplete(billing: Billing, price: str, customer: str) -> S.Subscription:
    created: S.Subscription = await billing.api.CreateSubscription(
        S.CreateSubscriptionRequest(
            customer=customer,
            items=[S.CreateSubscriptionRequest.Item(price=price)],
            test_clock=billing.clock_id,
            payment_behavior="default_incomplete",
            payment_settings=S.CreateSubscriptionRequest.PaymentSettings(
                save_default_payment_method="on_subscription"
            ),
        )
    )
    return created


async def _authenticated(
    billing: Billing, browser: Paycore, intent: P.PaymentIntent
) -> P.PaymentIntent:
    """The customer answers the page, Stripe.js confirms again: the intent succeeds."""
    assert intent.status == P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION, intent
    status, _ = await billing.psp.authenticate(intent.next_action.redirect_to_url.url, "complete")
    assert status == 200
    done = await _confirm(browser, intent)
    assert done.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED, done
    return done


async def test_a_first_invoice_waiting_for_authentication_is_paid_once_it_completes(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(PRICE)
    customer = (await new_customer(shop.client)).id
    created = await _incomplete(billing, price, customer)
    invoice = await billing.invoice(created.latest_invoice)
    intent = await _intent(shop, invoice.payment_intent)

    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        asked = await _confirm(browser, intent, ALWAYS)
        assert asked.status == P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION, asked
        await billing.work_once()
        await billing.work_once()

        waiting = await billing.invoice(invoice.id)
        assert (waiting.status, waiting.attempt_count) == (S.INVOICE_STATUS_OPEN, 1)
        assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_INCOMPLETE
        assert await billing.event_count(ACTION_REQUIRED) == 1  # once, however many passes
        assert await billing.event_count("invoice.payment_failed") == 0
        assert captured(psp) == []

        await _authenticated(billing, browser, asked)
    await billing.work_once()

    active = await billing.subscription(created.id)
    assert active.status == S.SUBSCRIPTION_STATUS_ACTIVE
    paid = await billing.invoice(invoice.id)
    assert (paid.status, paid.amount_paid, paid.attempt_count) == (S.INVOICE_STATUS_PAID, PRICE, 1)
    assert await billing.event_count("invoice.paid") == 1
    assert [charge.amount for charge in captured(psp)] == [PRICE]
    await billing.assert_books(PRICE - fee(PRICE))


async def test_an_off_session_renewal_is_dunned_and_asks_for_the_customers_action(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(PRICE)
    customer = (await new_customer(shop.client)).id
    created = await _incomplete(billing, price, customer)
    first = await billing.invoice(created.latest_invoice)
    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        asked = await _confirm(browser, await _intent(shop, first.payment_intent), ALWAYS)
        await _authenticated(billing, browser, asked)
        await billing.work_once()
        assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_ACTIVE
        before = await billing.event_count(ACTION_REQUIRED)

        await billing.advance(add_months(START, 1))  # the renewal, off-session

        renewal = (await billing.invoices(created.id))[-1]
        assert renewal.status == S.INVOICE_STATUS_OPEN
        assert renewal.attempt_count == 1 and renewal.next_payment_attempt > 0  # dunned
        assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_PAST_DUE
        declined = await _intent(shop, renewal.payment_intent)
        assert declined.last_payment_error.decline_code == "authentication_required"
        assert await billing.event_count("invoice.payment_failed") == 1
        assert await billing.event_count(ACTION_REQUIRED) == before + 1

        # The merchant brings the customer on-session: they confirm the invoice's intent.
        again = await _confirm(browser, declined, asked.payment_method)
        await _authenticated(billing, browser, again)
    await billing.work_once()

    assert (await billing.invoice(renewal.id)).status == S.INVOICE_STATUS_PAID
    assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert [charge.amount for charge in captured(psp)] == [PRICE, PRICE]
    await billing.assert_books(2 * (PRICE - fee(PRICE)))


async def test_an_invoice_paid_on_session_waits_for_the_customers_authentication(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(PRICE)
    customer = (await new_customer(shop.client)).id
    created = await _incomplete(billing, price, customer)
    first = await billing.invoice(created.latest_invoice)
    card = await shop.card("4000002760003184", customer=customer)

    answer = await billing.api.PayInvoice(
        S.PayInvoiceRequest(id=first.id, payment_method=card, off_session=False)
    )

    assert (answer.status, answer.attempt_count) == (S.INVOICE_STATUS_OPEN, 1), answer
    intent = await _intent(shop, answer.payment_intent)
    assert intent.status == P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION, intent
    assert intent.next_action.type == "redirect_to_url"
    assert await billing.event_count(ACTION_REQUIRED) == 1
    assert await billing.event_count("invoice.payment_failed") == 0
    await billing.work_once()
    assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_INCOMPLETE
    # The intent left for the customer before was withdrawn: only one can pay the invoice.
    assert (await _intent(shop, first.payment_intent)).status == P.PAYMENT_INTENT_STATUS_CANCELED

    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        await _authenticated(billing, browser, intent)
    await billing.work_once()

    assert (await billing.invoice(first.id)).status == S.INVOICE_STATUS_PAID
    assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert [charge.amount for charge in captured(psp)] == [PRICE]
    await billing.assert_books(PRICE - fee(PRICE))


async def test_a_dunned_invoice_paid_on_session_with_another_card_waits_for_the_customer(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    """A past_due subscription's invoice paid on-session with a card other than its default:
    billing passes leave the intent waiting for the customer (no retry on the default cancels
    it), and its success pays the invoice."""
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(PRICE)
    customer = (await new_customer(shop.client)).id
    created = await _incomplete(billing, price, customer)
    first = await billing.invoice(created.latest_invoice)
    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        asked = await _confirm(browser, await _intent(shop, first.payment_intent), ALWAYS)
        await _authenticated(billing, browser, asked)
        await billing.work_once()
        await billing.advance(add_months(START, 1))
        renewal = (await billing.invoices(created.id))[-1]
        assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_PAST_DUE
        other = await shop.card("4000002760003184", customer=customer)

        answer = await billing.api.PayInvoice(
            S.PayInvoiceRequest(id=renewal.id, payment_method=other, off_session=False)
        )
        waiting = await _intent(shop, answer.payment_intent)
        assert waiting.status == P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION, waiting
        for _ in range(3):
            await billing.work_once()
        assert (await _intent(shop, waiting.id)).status == P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION
        assert (await billing.invoice(renewal.id)).payment_intent == waiting.id
        assert [charge.amount for charge in captured(psp)] == [PRICE]

        await _authenticated(billing, browser, waiting)
    await billing.work_once()

    assert (await billing.invoice(renewal.id)).status == S.INVOICE_STATUS_PAID
    assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert [charge.amount for charge in captured(psp)] == [PRICE, PRICE]
    await billing.assert_books(2 * (PRICE - fee(PRICE)))


async def test_a_failed_authentication_of_a_first_invoice_sends_payment_failed_once(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    """default_incomplete: the customer's card asks for authentication (the first attempt,
    invoice.payment_action_required) and they fail it: the intent wants another payment method
    and the merchant hears invoice.payment_failed, once however many passes and later
    declines; the customer may still pay with another card."""
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(PRICE)
    customer = (await new_customer(shop.client)).id
    created = await _incomplete(billing, price, customer)
    invoice = await billing.invoice(created.latest_invoice)
    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        asked = await _confirm(browser, await _intent(shop, invoice.payment_intent), ALWAYS)
        await billing.work_once()
        assert await billing.event_count(ACTION_REQUIRED) == 1
        status, _ = await billing.psp.authenticate(asked.next_action.redirect_to_url.url, "fail")
        assert status == 200
        failed = await _confirm(browser, asked)
        assert failed.status == P.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD, failed
        await billing.work_once()
        await billing.work_once()

        assert await billing.event_count("invoice.payment_failed") == 1
        waiting = await billing.invoice(invoice.id)
        assert (waiting.status, waiting.attempt_count) == (S.INVOICE_STATUS_OPEN, 1)
        assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_INCOMPLETE

        declined = await _confirm(browser, failed, "pm_card_chargeDeclined")
        assert declined.status == P.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
        await billing.work_once()
        assert await billing.event_count("invoice.payment_failed") == 1  # not counted again
        paid = await _confirm(browser, declined, "pm_card_visa")
        assert paid.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED
    await billing.work_once()

    assert (await billing.invoice(invoice.id)).status == S.INVOICE_STATUS_PAID
    assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert await billing.event_count(ACTION_REQUIRED) == 1
    await billing.assert_books(PRICE - fee(PRICE))


async def test_a_first_invoice_charged_in_create_waits_for_the_customers_authentication(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    """allow_incomplete: the customer is present when the subscription is created, so the
    first invoice is charged on-session (as Stripe does): a card that must authenticate
    leaves its intent requires_action, the subscription incomplete; their authentication
    pays it."""
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(PRICE)
    card = await billing.card_of_customer("4000002500003155")

    created = await billing.subscribe([(price, None)], payment_method=card)

    assert created.status == S.SUBSCRIPTION_STATUS_INCOMPLETE, created
    first = await billing.invoice(created.latest_invoice)
    assert (first.status, first.attempt_count) == (S.INVOICE_STATUS_OPEN, 1)
    intent = await _intent(shop, first.payment_intent)
    assert intent.status == P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION, intent
    assert intent.next_action.type == "redirect_to_url"
    await billing.work_once()
    assert await billing.event_count(ACTION_REQUIRED) == 1
    assert await billing.event_count("invoice.payment_failed") == 0
    assert captured(psp) == []

    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        await _authenticated(billing, browser, intent)
    await billing.work_once()

    assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert (await billing.invoice(first.id)).status == S.INVOICE_STATUS_PAID
    assert [charge.amount for charge in captured(psp)] == [PRICE]
    await billing.assert_books(PRICE - fee(PRICE))


async def test_error_if_incomplete_refuses_a_first_invoice_that_must_authenticate(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    """error_if_incomplete: Stripe answers 402 (invoice_payment_intent_requires_action) and
    creates nothing: here the subscription ends incomplete_expired, its invoice void and its
    intent canceled, nothing charged."""
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(PRICE)
    card = await billing.card_of_customer("4000002760003184")

    with pytest.raises(aio.AioRpcError) as refused:
        await billing.subscribe(
            [(price, None)], payment_method=card, payment_behavior="error_if_incomplete"
        )

    error = rich_error(refused.value)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.reason == "CARD_DECLINED"
    assert error.metadata["code"] == "invoice_payment_intent_requires_action", error
    intent = await _intent(shop, error.metadata["payment_intent"])
    assert intent.status == P.PAYMENT_INTENT_STATUS_CANCELED, intent
    (subscription,) = (
        await billing.api.ListSubscriptions(
            S.ListSubscriptionsRequest(status=S.SUBSCRIPTION_STATUS_FILTER_ALL)
        )
    ).data
    assert subscription.status == S.SUBSCRIPTION_STATUS_INCOMPLETE_EXPIRED
    assert (await billing.invoice(subscription.latest_invoice)).status == S.INVOICE_STATUS_VOID
    assert captured(psp) == []
    await billing.assert_books(0)
