"""Stripe's `invoice_now` on an immediate cancel: what is pending for the next invoice (the
prorations of an update, one-off invoice items) is invoiced at once, a last invoice finalized and
charged, instead of dropped; with `prorate`, the unused time is refunded as before. Nothing
pending: no invoice. At period end: refused naming invoice_now (docs/subscriptions.md)."""

from __future__ import annotations

import grpc
from paycore.v1 import subscription_pb2

from tests.customer.support import failure
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import (
    DAY,
    add_months,
    captured,
    net,
    open_billing,
    proration_lines,
    psp_refunds,
    share,
    utc,
)

S = subscription_pb2
START = utc(2028, 4, 1)
END = add_months(START, 1)
AMOUNT = 3000
ITEM = 450


async def test_invoice_now_bills_what_is_pending_in_a_last_invoice(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(AMOUNT)
    created = await billing.subscribe([(price, 1)])
    at = START + 10 * DAY
    await billing.advance(at)
    item = created.items[0].id
    await billing.update(created.id, items=[S.UpdateSubscriptionRequest.Item(id=item, quantity=2)])
    await billing.api.CreateInvoiceItem(
        S.CreateInvoiceItemRequest(
            customer=billing.customer, subscription=created.id, amount=ITEM, currency="usd"
        )
    )
    pending = share(2 * AMOUNT, START, END, at) - share(AMOUNT, START, END, at) + ITEM

    canceled = await billing.api.CancelSubscription(
        S.CancelSubscriptionRequest(id=created.id, invoice_now=True)
    )

    assert canceled.status == S.SUBSCRIPTION_STATUS_CANCELED
    assert canceled.latest_invoice != created.latest_invoice
    last = await billing.invoice(canceled.latest_invoice)
    assert (last.status, last.amount_due, last.amount_paid) == (
        S.INVOICE_STATUS_PAID,
        pending,
        pending,
    )
    assert last.billing_reason == S.INVOICE_BILLING_REASON_SUBSCRIPTION_UPDATE
    assert len(proration_lines(last)) == 2
    assert [charge.amount for charge in captured(psp)] == [AMOUNT, pending]
    invoices = await billing.invoices(created.id)
    assert [each.status for each in invoices] == [S.INVOICE_STATUS_PAID] * 2
    await billing.assert_books(net([AMOUNT, pending]))
    # Nothing more is billed later.
    await billing.advance(add_months(START, 2))
    assert len(await billing.invoices(created.id)) == 2


async def test_invoice_now_with_nothing_pending_makes_no_invoice_and_prorate_still_refunds(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(AMOUNT)
    created = await billing.subscribe([(price, 1)])
    refused = await failure(
        billing.api.CancelSubscription(
            S.CancelSubscriptionRequest(id=created.id, invoice_now=True, at_period_end=True)
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert refused.param == "invoice_now"
    at = START + 15 * DAY
    await billing.advance(at)

    canceled = await billing.api.CancelSubscription(
        S.CancelSubscriptionRequest(id=created.id, invoice_now=True, prorate=True)
    )

    assert canceled.status == S.SUBSCRIPTION_STATUS_CANCELED
    assert canceled.latest_invoice == created.latest_invoice
    assert len(await billing.invoices(created.id)) == 1
    assert [amount for amount, _ in psp_refunds(psp)] == [share(AMOUNT, START, END, at)]


async def test_invoice_now_with_prorate_credits_the_unused_time_on_the_last_invoice(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    """An upgrade left pending, then cancel now with invoice_now and prorate: the customer pays
    for the days used at each price, to the cent. The last invoice carries the pending
    prorations and the credit for the unused time (as Stripe's final invoice does); what it
    leaves in credit is refunded. (The unused time was refunded from the paid intents only, the
    last invoice still charged in full: 1464 cents kept for 10 days of a 3000 cent plan.)"""
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(AMOUNT)
    created = await billing.subscribe([(price, 1)])
    at = START + 10 * DAY
    await billing.advance(at)
    item = created.items[0].id
    await billing.update(created.id, items=[S.UpdateSubscriptionRequest.Item(id=item, quantity=2)])

    canceled = await billing.api.CancelSubscription(
        S.CancelSubscriptionRequest(id=created.id, invoice_now=True, prorate=True)
    )

    assert canceled.status == S.SUBSCRIPTION_STATUS_CANCELED
    last = await billing.invoice(canceled.latest_invoice)
    unused_old = share(AMOUNT, START, END, at)
    unused_new = share(2 * AMOUNT, START, END, at)
    # The credit for the current item first, then the pending upgrade's two lines.
    assert [line.amount for line in proration_lines(last)] == [
        -unused_new,
        -unused_old,
        unused_new,
    ]
    assert (last.total, last.amount_due, last.status) == (-unused_old, 0, S.INVOICE_STATUS_PAID)
    assert [charge.amount for charge in captured(psp)] == [AMOUNT]
    assert [amount for amount, _ in psp_refunds(psp)] == [unused_old]
    await billing.assert_books(net([AMOUNT]) - unused_old)
