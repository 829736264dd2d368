"""One invoice, one payment: the customer's confirmation of a dunned invoice's payment intent
(on-session, with its client_secret) and the billing job's retry of the same invoice never
both charge it. Whichever starts first holds the invoice: a retry waits while the customer's
payment is in flight, and an intent superseded by a retry can no longer be confirmed."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc import aio
from paycore.client import Paycore, connect
from paycore.storage.schema import payment_intents
from paycore.tools.psp import cards
from paycore.v1 import payment_pb2, subscription_pb2
from sqlalchemy import update

from tests.helpers import PspSimulator, rich_error
from tests.payment.shop import PayIn, Shop, fee
from tests.subscription.billing import (
    Billing,
    add_months,
    captured,
    net,
    open_billing,
    psp_refunds,
    utc,
)

S = subscription_pb2
P = payment_pb2
START = utc(2028, 7, 10)
PRICE = 4200


async def _intent(shop: Shop, intent_id: str) -> P.PaymentIntent:
    found: P.PaymentIntent = await shop.client.payments.GetPaymentIntent(
        P.GetPaymentIntentRequest(id=intent_id)
    )
    return found


async def _confirm(browser: Paycore, intent: P.PaymentIntent, method: str) -> P.PaymentIntent:
    confirmed: P.PaymentIntent = await browser.payments.ConfirmPaymentIntent(
        P.ConfirmPaymentIntentRequest(
            id=intent.id, client_secret=intent.client_secret, payment_method=method
        )
    )
    return confirmed


async def _dunned(billing: Billing) -> tuple[S.Subscription, S.Invoice]:
    """A subscription whose renewal was declined: past_due, its invoice open with a retry
    scheduled and its intent waiting for another payment method."""
    price = await billing.price(PRICE)
    created = await billing.subscribe([(price, 1)])
    declining = await billing.card_of_customer(cards.CARD_DECLINED)
    await billing.update(created.id, default_payment_method=declining)
    await billing.advance(add_months(START, 1))
    renewal = (await billing.invoices(created.id))[-1]
    assert (renewal.status, renewal.attempt_count) == (S.INVOICE_STATUS_OPEN, 1), renewal
    assert renewal.next_payment_attempt > 0
    return created, renewal


async def _paid_once(billing: Billing, created: S.Subscription, renewal: S.Invoice) -> S.Invoice:
    """The renewal paid, by one intent; the PSP captured the first period and the renewal
    once each; the books balance."""
    await billing.settle()
    paid = await billing.invoice(renewal.id)
    assert (paid.status, paid.amount_paid) == (S.INVOICE_STATUS_PAID, PRICE), paid
    assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert [charge.amount for charge in captured(billing.psp)] == [PRICE, PRICE]
    assert await billing.event_count("invoice.paid") == 2  # the first period, the renewal
    await billing.assert_books(net([PRICE, PRICE]))
    return paid


async def test_a_new_card_does_not_charge_an_invoice_the_customer_has_just_paid(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    """The customer pays the dunned invoice's intent on-session; before a billing pass marks
    the invoice paid, the merchant gives the subscription a new card: no retry charges it."""
    billing = await open_billing(payin, shop, psp, START)
    created, renewal = await _dunned(billing)
    theirs = await billing.card_of_customer()
    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        done = await _confirm(browser, await _intent(shop, renewal.payment_intent), theirs)
    assert done.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED, done

    await billing.update(created.id, default_payment_method=await billing.card_of_customer())

    paid = await _paid_once(billing, created, renewal)
    assert paid.payment_intent == renewal.payment_intent


async def test_pay_invoice_refuses_an_invoice_the_customer_has_just_paid(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    created, renewal = await _dunned(billing)
    theirs = await billing.card_of_customer()
    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        await _confirm(browser, await _intent(shop, renewal.payment_intent), theirs)

    with pytest.raises(aio.AioRpcError) as refused:
        await billing.api.PayInvoice(
            S.PayInvoiceRequest(id=renewal.id, payment_method=await billing.card_of_customer())
        )

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert rich_error(refused.value).reason == "INVOICE_UNEXPECTED_STATE"
    paid = await _paid_once(billing, created, renewal)
    assert paid.payment_intent == renewal.payment_intent


async def test_an_intent_a_retry_superseded_can_no_longer_be_confirmed(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    """A retry on a new card pays the invoice; the customer then confirms the intent of the
    declined attempt (say from the merchant's dunning email): refused, it was canceled."""
    billing = await open_billing(payin, shop, psp, START)
    created, renewal = await _dunned(billing)
    await billing.update(created.id, default_payment_method=await billing.card_of_customer())
    superseded = await _intent(shop, renewal.payment_intent)
    assert superseded.status == P.PAYMENT_INTENT_STATUS_CANCELED, superseded
    assert superseded.cancellation_reason == P.PAYMENT_INTENT_CANCELLATION_REASON_ABANDONED

    theirs = await billing.card_of_customer()
    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        with pytest.raises(aio.AioRpcError) as refused:
            await _confirm(browser, superseded, theirs)

    assert rich_error(refused.value).reason == "PAYMENT_INTENT_UNEXPECTED_STATE"
    paid = await _paid_once(billing, created, renewal)
    assert paid.payment_intent != renewal.payment_intent


@pytest.mark.parametrize("rounds", [3])
async def test_the_customers_confirmation_racing_a_retry_charges_once(
    payin: PayIn, shop: Shop, psp: PspSimulator, rounds: int
) -> None:
    """The two paths at once against PostgreSQL (whichever locks the intent first wins; the
    other is refused or does not start), for several subscriptions."""
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(PRICE)
    dunned: list[tuple[S.Subscription, S.Invoice]] = []
    declining = await billing.card_of_customer(cards.CARD_DECLINED)
    for _ in range(rounds):
        created = await billing.subscribe([(price, 1)])
        await billing.update(created.id, default_payment_method=declining)
        dunned.append((created, await billing.invoice(created.latest_invoice)))
    await billing.advance(add_months(START, 1))

    async def customer(renewal: S.Invoice, browser: Paycore) -> None:
        intent = await _intent(shop, renewal.payment_intent)
        try:
            await _confirm(browser, intent, await billing.card_of_customer())
        except aio.AioRpcError as refused:
            assert rich_error(refused).reason == "PAYMENT_INTENT_UNEXPECTED_STATE", refused

    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        renewals = [(await billing.invoices(created.id))[-1] for created, _ in dunned]
        good = await billing.card_of_customer()
        await asyncio.gather(
            *(customer(renewal, browser) for renewal in renewals),
            *(billing.update(created.id, default_payment_method=good) for created, _ in dunned),
            billing.work_once(),
        )
    await billing.settle()

    for renewal in renewals:
        paid = await billing.invoice(renewal.id)
        assert (paid.status, paid.amount_paid) == (S.INVOICE_STATUS_PAID, PRICE), paid
    assert [charge.amount for charge in captured(psp)] == [PRICE] * (2 * rounds)
    assert await billing.event_count("invoice.paid") == 2 * rounds
    await billing.assert_books(net([PRICE] * (2 * rounds)))


async def test_a_second_payment_of_an_invoice_is_refunded_once(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    """Should the PSP ever charge one invoice twice (here: an intent confirmed before the rule
    above held, made to name the paid renewal), the billing job refunds the second payment in
    full, reason duplicate, once; the invoice stays paid by its own intent."""
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(PRICE)
    created = await billing.subscribe([(price, 1)])
    await billing.advance(add_months(START, 1))
    renewal = (await billing.invoices(created.id))[-1]
    assert renewal.status == S.INVOICE_STATUS_PAID
    second = await shop.client.payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=PRICE,
            currency="usd",
            customer=billing.customer,
            payment_method=await billing.card_of_customer(),
            confirm=True,
        )
    )
    assert second.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED
    async with payin.platform.shards.transaction(shop.id) as connection:
        await connection.execute(
            update(payment_intents)
            .where(payment_intents.c.merchant_id == shop.id, payment_intents.c.id == second.id)
            .values(invoice_id=renewal.id)
        )

    await billing.work_once()
    await billing.work_once()

    refunded = await _intent(shop, second.id)
    assert refunded.amount_refunded == PRICE, refunded
    assert psp_refunds(psp) == [(PRICE, "usd")]
    refunds = await shop.client.payments.ListRefunds(P.ListRefundsRequest(payment_intent=second.id))
    assert [(refund.amount, refund.reason) for refund in refunds.data] == [
        (PRICE, P.REFUND_REASON_DUPLICATE)
    ]
    paid = await billing.invoice(renewal.id)
    assert (paid.status, paid.amount_paid, paid.payment_intent) == (
        S.INVOICE_STATUS_PAID,
        PRICE,
        renewal.payment_intent,
    )
    assert await billing.event_count("invoice.paid") == 2
    await billing.assert_books(net([PRICE, PRICE]) - fee(PRICE))


async def test_a_scheduled_retry_waits_while_the_customers_payment_is_in_flight(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    """The customer's confirmation is still processing (the PSP down) when the invoice's retry
    falls due: the retry does not start (no second intent, the attempt not counted); it stays
    due until that payment is answered."""
    billing = await open_billing(payin, shop, psp, START)
    _, renewal = await _dunned(billing)
    theirs = await billing.card_of_customer()
    await psp.set_faults(down=True)
    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        confirmed = await _confirm(browser, await _intent(shop, renewal.payment_intent), theirs)
    assert confirmed.status == P.PAYMENT_INTENT_STATUS_PROCESSING, confirmed

    await billing.api.AdvanceTestClock(
        S.AdvanceTestClockRequest(id=billing.clock_id, frozen_time=renewal.next_payment_attempt)
    )
    await billing.work_once()
    await billing.work_once()

    waiting = await billing.invoice(renewal.id)
    assert (waiting.attempt_count, waiting.payment_intent) == (1, renewal.payment_intent)
    assert waiting.status == S.INVOICE_STATUS_OPEN
    intents = await shop.client.payments.ListPaymentIntents(
        P.ListPaymentIntentsRequest(customer=billing.customer, limit=100)
    )
    assert sorted(intent.status for intent in intents.data) == sorted(
        [
            P.PAYMENT_INTENT_STATUS_SUCCEEDED,  # the first period
            P.PAYMENT_INTENT_STATUS_PROCESSING,  # the customer's payment of the renewal
        ]
    ), intents
