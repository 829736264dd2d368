"""Subscriptions billed on a test clock: the first invoice paid through a payment intent at
creation, then one renewal per period from the anchor, each invoiced, numbered without gaps,
charged once and in the ledger."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from paycore.v1 import payment_pb2, subscription_pb2

from tests.payment.shop import PayIn, Shop, fee, good_card
from tests.subscription.support import JAN_31_2026, Billed, billing_job


def _utc(seconds: int) -> tuple[int, int, int]:
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.year, moment.month, moment.day


async def test_the_first_invoice_is_paid_at_creation_through_a_payment_intent(
    payin: PayIn, shop: Shop
) -> None:
    billed = await Billed(payin, shop).setup(good_card())

    subscription = await billed.subscribe()

    assert subscription.status == subscription_pb2.SUBSCRIPTION_STATUS_ACTIVE
    assert (subscription.current_period_start, subscription.billing_cycle_anchor) == (
        JAN_31_2026,
        JAN_31_2026,
    )
    assert _utc(subscription.current_period_end) == (2026, 2, 28)
    (invoice,) = await billed.invoices(subscription.id)
    assert invoice.id == subscription.latest_invoice
    assert invoice.status == subscription_pb2.INVOICE_STATUS_PAID
    assert invoice.billing_reason == subscription_pb2.INVOICE_BILLING_REASON_SUBSCRIPTION_CREATE
    assert (invoice.amount_due, invoice.amount_paid, invoice.amount_remaining) == (1500, 1500, 0)
    assert invoice.number.endswith("-0001")
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=invoice.payment_intent)
    )
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert (intent.amount, intent.customer, intent.invoice) == (1500, billed.customer, invoice.id)
    assert (await shop.balance())[1] == {"usd": 1500 - fee(1500)}
    await shop.assert_books_balance()


async def test_thirteen_months_make_thirteen_paid_invoices_on_the_anchor(
    payin: PayIn, shop: Shop
) -> None:
    billed = await Billed(payin, shop).setup(good_card(), unit_amount=999)
    subscription = await billed.subscribe()

    await billed.advance(JAN_31_2026 + 366 * 86_400)  # 2027-02-01: twelve renewals due

    invoices = await billed.invoices(subscription.id)
    assert [invoice.status for invoice in invoices] == [subscription_pb2.INVOICE_STATUS_PAID] * 13
    assert [_utc(invoice.period_start)[1:] for invoice in invoices] == [
        (1, 31), (2, 28), (3, 31), (4, 30), (5, 31), (6, 30),
        (7, 31), (8, 31), (9, 30), (10, 31), (11, 30), (12, 31), (1, 31),
    ]  # fmt: skip
    assert all(invoice.amount_paid == 999 for invoice in invoices)
    numbers = [int(invoice.number.rsplit("-", 1)[1]) for invoice in invoices]
    assert numbers == list(range(1, 14))
    assert len({invoice.payment_intent for invoice in invoices}) == 13
    renewed = await billed.subscription(subscription.id)
    assert renewed.status == subscription_pb2.SUBSCRIPTION_STATUS_ACTIVE
    assert _utc(renewed.current_period_start) == (2027, 1, 31)
    assert _utc(renewed.current_period_end) == (2027, 2, 28)
    assert (await shop.balance())[1] == {"usd": 13 * (999 - fee(999))}
    await shop.assert_books_balance()


async def test_without_a_test_clock_the_subscription_runs_on_real_time(
    payin: PayIn, shop: Shop
) -> None:
    billed = await Billed(payin, shop).setup(good_card())
    before = int(time.time())

    subscription = await billed.subscribe(test_clock="")
    for engine in payin.platform.shards.engines:  # nothing is due for a month
        await billing_job(payin).run(engine)

    assert subscription.status == subscription_pb2.SUBSCRIPTION_STATUS_ACTIVE
    assert before <= subscription.current_period_start <= int(time.time())
    assert subscription.test_clock == ""
    assert len(await billed.invoices(subscription.id)) == 1


async def test_the_same_idempotency_key_creates_and_charges_once(payin: PayIn, shop: Shop) -> None:
    billed = await Billed(payin, shop).setup(good_card())
    request = subscription_pb2.CreateSubscriptionRequest(
        customer=billed.customer,
        items=[subscription_pb2.CreateSubscriptionRequest.Item(price=billed.price, quantity=2)],
        default_payment_method=billed.card,
        test_clock=billed.clock,
    )
    key = (("idempotency-key", f"sub-{billed.customer}"),)

    first = await shop.client.subscriptions.CreateSubscription(request, metadata=key)
    again = await shop.client.subscriptions.CreateSubscription(request, metadata=key)

    assert again == first
    assert first.items[0].quantity == 2
    listed = await shop.client.subscriptions.ListSubscriptions(
        subscription_pb2.ListSubscriptionsRequest(customer=billed.customer)
    )
    assert [found.id for found in listed.data] == [first.id]
    assert (await shop.balance())[1] == {"usd": 3000 - fee(3000)}
