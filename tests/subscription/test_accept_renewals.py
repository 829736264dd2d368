"""Acceptance (issue 7): a monthly subscription on a test clock runs for 13 months from Jan 31
and leaves 13 paid invoices with the right amounts, periods that follow the month ends, numbers
without gaps, one PSP charge each, and the money in the ledger."""

from __future__ import annotations

import hashlib
import re

import grpc
from paycore.v1 import payment_pb2, subscription_pb2

from tests.customer.support import failure
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import (
    DAY,
    HOUR,
    add_months,
    captured,
    item_lines,
    net,
    open_billing,
    proration_lines,
    utc,
)

S = subscription_pb2
START = utc(2028, 1, 31)  # 2028 is a leap year: the second period ends on Feb 29
# The 14 boundaries of 13 monthly periods from Jan 31, written out rather than computed.
BOUNDARIES = [
    utc(2028, 1, 31),
    utc(2028, 2, 29),
    utc(2028, 3, 31),
    utc(2028, 4, 30),
    utc(2028, 5, 31),
    utc(2028, 6, 30),
    utc(2028, 7, 31),
    utc(2028, 8, 31),
    utc(2028, 9, 30),
    utc(2028, 10, 31),
    utc(2028, 11, 30),
    utc(2028, 12, 31),
    utc(2029, 1, 31),
    utc(2029, 2, 28),
]
NUMBER = re.compile(r"^(?P<prefix>[0-9A-Za-z]+)-(?P<sequence>[0-9]{4,})$")


def test_the_expected_boundaries_are_the_month_end_rule() -> None:
    # The harness's own month arithmetic (used by the other acceptance tests) agrees with the
    # dates written out above.
    assert [add_months(START, months) for months in range(14)] == BOUNDARIES


async def test_thirteen_months_make_thirteen_paid_invoices_and_the_money_is_in_the_ledger(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    seats = await billing.price(1999)
    support = await billing.price(500)
    per_period = 3 * 1999 + 1 * 500

    created = await billing.subscribe([(seats, 3), (support, 1)])

    assert created.status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert (created.current_period_start, created.current_period_end) == tuple(BOUNDARIES[:2])
    assert created.billing_cycle_anchor == START
    assert created.test_clock == billing.clock_id
    # Half way: the first six periods are billed, the seventh not yet.
    await billing.advance(utc(2028, 7, 15))
    assert len(await billing.invoices(created.id)) == 6
    # Exactly at the start of the 13th period: its invoice is due, the 14th is not.
    await billing.advance(BOUNDARIES[12])

    invoices = await billing.invoices(created.id)
    assert len(invoices) == 13
    prefixes = set()
    for index, invoice in enumerate(invoices):
        start, end = BOUNDARIES[index], BOUNDARIES[index + 1]
        assert invoice.status == S.INVOICE_STATUS_PAID, (index, invoice)
        assert invoice.billing_reason == (
            S.INVOICE_BILLING_REASON_SUBSCRIPTION_CREATE
            if index == 0
            else S.INVOICE_BILLING_REASON_SUBSCRIPTION_CYCLE
        ), index
        assert (invoice.period_start, invoice.period_end) == (start, end), index
        assert (invoice.customer, invoice.subscription) == (billing.customer, created.id)
        assert (invoice.currency, invoice.test_clock) == ("usd", billing.clock_id)
        assert sorted(
            (line.price, line.quantity, line.amount, line.period_start, line.period_end)
            for line in item_lines(invoice)
        ) == sorted([(seats, 3, 5997, start, end), (support, 1, 500, start, end)]), index
        assert proration_lines(invoice) == []
        assert (invoice.subtotal, invoice.total, invoice.amount_due) == (per_period,) * 3
        assert (invoice.amount_paid, invoice.amount_remaining) == (per_period, 0)
        # On the clock each renewal happens at its own due time, even when the clock jumped
        # months past it (docs/subscriptions.md, "Test clocks").
        assert (invoice.created, invoice.paid_at) == (start, start), index
        assert invoice.next_payment_attempt == 0
        number = NUMBER.match(invoice.number)
        assert number, invoice.number
        assert int(number["sequence"]) == index + 1, [each.number for each in invoices]
        prefixes.add(number["prefix"])
        intent = await shop.client.payments.GetPaymentIntent(
            payment_pb2.GetPaymentIntentRequest(id=invoice.payment_intent)
        )
        assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, intent
        assert (intent.amount, intent.amount_received, intent.currency) == (
            per_period,
            per_period,
            "usd",
        )
        assert (intent.customer, intent.invoice) == (billing.customer, invoice.id)
    # The prefix is the merchant's (docs/subscriptions.md: SHA-256 of its id, 8 hex digits).
    assert prefixes == {hashlib.sha256(shop.id.encode()).hexdigest()[:8].upper()}, prefixes
    assert len({invoice.payment_intent for invoice in invoices}) == 13

    subscription = await billing.subscription(created.id)
    assert subscription.status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert (subscription.current_period_start, subscription.current_period_end) == (
        BOUNDARIES[12],
        BOUNDARIES[13],
    )
    assert subscription.latest_invoice == invoices[-1].id
    charges = captured(psp)
    assert [charge.amount for charge in charges] == [per_period] * 13
    # The simulator's reference is the payment intent: each invoice's, charged once.
    assert sorted(charge.reference for charge in charges) == sorted(
        invoice.payment_intent for invoice in invoices
    )
    await billing.assert_books(net([per_period] * 13))
    # Stripe's pair for an invoice a charge paid: invoice.paid and invoice.payment_succeeded.
    for event_type in (
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
    ):
        assert await billing.event_count(event_type) == 13, event_type
    assert await billing.event_count("customer.subscription.created") == 1


async def test_create_retried_with_its_key_makes_one_subscription_and_one_charge(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, utc(2028, 3, 1))
    price = await billing.price(1200)

    first = await billing.subscribe([(price, 1)], key="subscribe-once")
    again = await billing.subscribe([(price, 1)], key="subscribe-once")

    assert again == first
    other_price = await billing.price(1300)
    reused = await failure(
        billing.subscribe([(other_price, 1)], key="subscribe-once"),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert reused.reason == "IDEMPOTENCY_KEY_REUSED", reused
    listed = await billing.api.ListSubscriptions(
        S.ListSubscriptionsRequest(customer=billing.customer)
    )
    assert [each.id for each in listed.data] == [first.id]
    assert len(await billing.invoices()) == 1
    assert [charge.amount for charge in captured(psp)] == [1200]
    await billing.assert_books(net([1200]))


async def test_an_absent_quantity_means_one(payin: PayIn, shop: Shop, psp: PspSimulator) -> None:
    """As at Stripe; an explicit 0 is refused (test_accept_bad_input.py)."""
    billing = await open_billing(payin, shop, psp, utc(2028, 3, 1, 6))
    price = await billing.price(1500)

    created = await billing.subscribe([(price, None)])

    assert [item.quantity for item in created.items] == [1]
    (invoice,) = await billing.invoices(created.id)
    assert (invoice.status, invoice.amount_paid) == (S.INVOICE_STATUS_PAID, 1500)
    await billing.advance(add_months(utc(2028, 3, 1, 6), 1) + HOUR)
    assert [each.amount_paid for each in await billing.invoices(created.id)] == [1500, 1500]
    await billing.assert_books(net([1500, 1500]))


async def test_a_yearly_price_anchored_on_feb_29_renews_on_feb_28_and_back_on_feb_29(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    start = utc(2028, 2, 29)
    billing = await open_billing(payin, shop, psp, start)
    yearly = S.Recurring(interval=S.RECURRING_INTERVAL_YEAR, interval_count=1)
    price = await billing.price(12_000, recurring=yearly)
    created = await billing.subscribe([(price, 1)])

    await billing.advance(utc(2030, 2, 28))
    await billing.advance(utc(2032, 2, 29))

    invoices = await billing.invoices(created.id)
    assert [(each.period_start, each.period_end) for each in invoices] == [
        (utc(2028, 2, 29), utc(2029, 2, 28)),
        (utc(2029, 2, 28), utc(2030, 2, 28)),
        (utc(2030, 2, 28), utc(2031, 2, 28)),
        (utc(2031, 2, 28), utc(2032, 2, 29)),
        (utc(2032, 2, 29), utc(2033, 2, 28)),
    ]
    assert [each.amount_paid for each in invoices] == [12_000] * 5
    await billing.assert_books(net([12_000] * 5))


async def test_a_two_weekly_price_renews_every_fourteen_days(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    start = utc(2028, 10, 25, 23, 30)  # across the end of daylight saving, which UTC has not
    billing = await open_billing(payin, shop, psp, start)
    fortnightly = S.Recurring(interval=S.RECURRING_INTERVAL_WEEK, interval_count=2)
    price = await billing.price(800, recurring=fortnightly)
    created = await billing.subscribe([(price, 2)])

    await billing.advance(start + 6 * 7 * DAY)

    invoices = await billing.invoices(created.id)
    assert [(each.period_start, each.period_end) for each in invoices] == [
        (start + n * 14 * DAY, start + (n + 1) * 14 * DAY) for n in range(4)
    ]
    assert [each.amount_paid for each in invoices] == [1600] * 4
    await billing.assert_books(net([1600] * 4))


async def test_a_daily_price_advanced_sixty_days_bills_every_day_once(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    # More renewals than one billing run walks for a subscription (docs/subscriptions.md: 40):
    # the runs after it must carry on where it stopped, without a gap or a repeat.
    start = utc(2028, 2, 1, 0, 5)
    billing = await open_billing(payin, shop, psp, start)
    daily = S.Recurring(interval=S.RECURRING_INTERVAL_DAY, interval_count=1)
    price = await billing.price(99, recurring=daily)
    created = await billing.subscribe([(price, 1)])

    await billing.advance(start + 60 * DAY)

    invoices = await billing.invoices(created.id)
    assert [(each.period_start, each.period_end) for each in invoices] == [
        (start + n * DAY, start + (n + 1) * DAY) for n in range(61)
    ]
    assert {(each.status, each.amount_paid) for each in invoices} == {(S.INVOICE_STATUS_PAID, 99)}
    sequences = [int(each.number.rsplit("-", 1)[1]) for each in invoices]
    assert sequences == list(range(1, 62))
    assert len(captured(psp)) == 61
    await billing.assert_books(net([99] * 61))
