"""An ended subscription's open invoices are no longer collected by billing, and say so:
`next_payment_attempt` 0 (null at the REST edge) and `auto_advance` false, as Stripe stops the
automatic collection of a canceled subscription's invoices. Whichever way it ends (a cancel
now, the dunning's final action while another invoice was still being retried, its period end
with `cancel_at_period_end`), no attempt follows, and PayInvoice still collects the invoice.
"""

from __future__ import annotations

from paycore.tools.psp import cards
from paycore.v1 import subscription_pb2

from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import (
    DAY,
    Billing,
    add_months,
    net,
    open_billing,
    psp_charges,
    utc,
)
from tests.subscription.support import MONTHLY

S = subscription_pb2
START = utc(2028, 5, 1, 8)
END = add_months(START, 1)
AMOUNT = 2500
WEEKLY = S.Recurring(interval=S.RECURRING_INTERVAL_WEEK, interval_count=1)


async def _declining(
    payin: PayIn, shop: Shop, psp: PspSimulator, recurring: S.Recurring = MONTHLY
) -> tuple[Billing, S.Subscription]:
    """A subscription paid for its first period whose card declines from then on."""
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(AMOUNT, "usd", recurring)
    created = await billing.subscribe([(price, 1)])
    assert created.status == S.SUBSCRIPTION_STATUS_ACTIVE, created
    bad = await billing.card_of_customer(cards.CARD_DECLINED)
    await billing.update(created.id, default_payment_method=bad)
    return billing, created


def _not_collected(invoice: S.Invoice) -> None:
    assert invoice.status == S.INVOICE_STATUS_OPEN, invoice
    assert (invoice.next_payment_attempt, invoice.auto_advance) == (0, False), invoice


async def test_a_cancel_now_stops_the_retries_of_its_open_invoice(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, subscription = await _declining(payin, shop, psp)
    await billing.advance(END)
    renewal = await billing.invoice((await billing.subscription(subscription.id)).latest_invoice)
    assert renewal.next_payment_attempt == END + 3 * DAY

    await billing.api.CancelSubscription(S.CancelSubscriptionRequest(id=subscription.id))

    _not_collected(await billing.invoice(renewal.id))
    charges = len(psp_charges(psp))
    await billing.advance(END + 20 * DAY)  # past every retry the schedule had
    still = await billing.invoice(renewal.id)
    _not_collected(still)
    assert still.attempt_count == 1
    assert len(psp_charges(psp)) == charges
    # The customer can still pay it.
    paid = await billing.api.PayInvoice(
        S.PayInvoiceRequest(id=renewal.id, payment_method=await billing.card_of_customer())
    )
    assert (paid.status, paid.amount_paid) == (S.INVOICE_STATUS_PAID, AMOUNT)
    ended = await billing.subscription(subscription.id)
    assert ended.status == S.SUBSCRIPTION_STATUS_CANCELED
    await billing.assert_books(net([AMOUNT, AMOUNT]))


async def test_the_dunning_cancel_stops_the_retries_of_its_other_open_invoices(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    # Weekly: the second renewal fails while the first is still retried (days 3, 8, 15).
    billing, subscription = await _declining(payin, shop, psp, WEEKLY)
    first_renewal = START + 7 * DAY

    await billing.advance(first_renewal + 15 * DAY)  # the first renewal's last retry fails

    canceled = await billing.subscription(subscription.id)
    assert (canceled.status, canceled.ended_at) == (
        S.SUBSCRIPTION_STATUS_CANCELED,
        first_renewal + 15 * DAY,
    )
    invoices = await billing.invoices(subscription.id)
    assert [invoice.status for invoice in invoices] == [
        S.INVOICE_STATUS_PAID,
        S.INVOICE_STATUS_UNCOLLECTIBLE,
        S.INVOICE_STATUS_OPEN,  # the renewals of days 14 and 21, still retried
        S.INVOICE_STATUS_OPEN,
    ]
    later = invoices[2:]
    for invoice in later:
        _not_collected(invoice)
    attempts = [invoice.attempt_count for invoice in later]
    charges = len(psp_charges(psp))
    await billing.advance(first_renewal + 40 * DAY)
    for invoice in later:
        still = await billing.invoice(invoice.id)
        _not_collected(still)
    assert [(await billing.invoice(invoice.id)).attempt_count for invoice in later] == attempts
    assert len(psp_charges(psp)) == charges
    await billing.assert_books(net([AMOUNT]))


async def test_an_end_at_the_period_end_stops_the_retries_of_its_open_invoice(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    # Retries 20 days apart: the second would come after the period's end.
    await shop.client.subscriptions.UpdateBillingSettings(
        S.UpdateBillingSettingsRequest(retry_schedule_days=[20, 20])
    )
    billing, subscription = await _declining(payin, shop, psp)
    await billing.advance(END)
    await billing.api.CancelSubscription(
        S.CancelSubscriptionRequest(id=subscription.id, at_period_end=True)
    )
    await billing.advance(END + 20 * DAY)
    renewal = await billing.invoice((await billing.subscription(subscription.id)).latest_invoice)
    assert (renewal.attempt_count, renewal.next_payment_attempt) == (2, END + 40 * DAY)

    period_end = add_months(START, 2)
    await billing.advance(period_end)

    ended = await billing.subscription(subscription.id)
    assert (ended.status, ended.ended_at) == (S.SUBSCRIPTION_STATUS_CANCELED, period_end)
    _not_collected(await billing.invoice(renewal.id))
    await billing.advance(END + 41 * DAY)
    still = await billing.invoice(renewal.id)
    _not_collected(still)
    assert still.attempt_count == 2
    await billing.assert_books(net([AMOUNT]))
