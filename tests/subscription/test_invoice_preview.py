"""The upcoming invoice preview (Stripe's Invoice.create_preview): the invoice a subscription
will make next, its lines, discount and totals, as the renewal then bills them; optionally
after proposed item changes, with their prorations at proration_date. Nothing is stored,
nothing charged: no invoice, no event, an invoice item still pending, the subscription
unchanged, the books as before.

Expected amounts are computed here from the stated rules, never read back from the server."""

from __future__ import annotations

from typing import Any

import grpc
from paycore.v1 import subscription_pb2

from tests.customer.support import failure, new_customer
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import Billing, add_months, net, open_billing, share, utc

S = subscription_pb2
START = utc(2028, 3, 10)
INVALID, NOT_FOUND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
EVENTS = (
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "customer.subscription.updated",
    "customer.discount.deleted",
    "price.created",
)


def percent_of(amount: int, hundredths: int) -> int:
    taken = (abs(amount) * hundredths * 2 + 10_000) // 20_000
    return taken if amount >= 0 else -taken


async def preview(billing: Billing, **fields: Any) -> S.Invoice:
    found: S.Invoice = await billing.api.CreateInvoicePreview(
        S.CreateInvoicePreviewRequest(**fields)
    )
    return found


def shape(invoice: S.Invoice) -> list[tuple[int, str, bool, int, int, int]]:
    return [
        (
            line.amount,
            line.price,
            line.proration,
            line.period_start,
            line.period_end,
            sum(d.amount for d in line.discount_amounts),
        )
        for line in invoice.lines
    ]


async def event_counts(billing: Billing) -> list[int]:
    return [await billing.event_count(kind) for kind in EVENTS]


async def test_the_preview_is_the_next_renewal_with_items_and_discount_and_stores_nothing(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    monthly = await billing.price(1000)
    off = await billing.api.CreateCoupon(S.CreateCouponRequest(percent_off="10", duration="once"))
    subscription = await billing.subscribe([(monthly, 2)])
    await billing.update(subscription.id, coupon=off.id)
    item = await billing.api.CreateInvoiceItem(
        S.CreateInvoiceItemRequest(
            customer=billing.customer, subscription=subscription.id, amount=250, currency="usd"
        )
    )
    before_invoices = await billing.invoices(subscription.id)
    before_events = await event_counts(billing)
    second, third = add_months(START, 1), add_months(START, 2)

    for fields in ({"subscription": subscription.id}, {"customer": billing.customer}):
        upcoming = await preview(billing, **fields)
        assert upcoming.id == "" and upcoming.number == ""
        assert (upcoming.subscription, upcoming.customer) == (subscription.id, billing.customer)
        assert upcoming.status == S.INVOICE_STATUS_DRAFT
        assert upcoming.billing_reason == S.INVOICE_BILLING_REASON_SUBSCRIPTION_CYCLE
        assert (upcoming.period_start, upcoming.period_end) == (second, third)
        assert upcoming.created == second
        assert shape(upcoming) == [
            (2000, monthly, False, second, third, 200),
            (250, "", False, second, third, 25),
        ]
        assert upcoming.subtotal == 2250
        assert upcoming.total_discount_amounts[0].amount == 225
        assert (upcoming.total, upcoming.amount_due, upcoming.amount_paid) == (2025, 2025, 0)
        assert upcoming.payment_intent == ""

    # Nothing stored, nothing charged, nothing changed.
    assert await billing.invoices(subscription.id) == before_invoices
    assert await event_counts(billing) == before_events
    pending = await billing.api.GetInvoiceItem(S.GetInvoiceItemRequest(id=item.id))
    assert pending.invoice == ""
    assert (await billing.subscription(subscription.id)).discount.coupon.id == off.id
    await billing.assert_books(net([2000]))

    # The renewal bills what the preview showed.
    expected = await preview(billing, subscription=subscription.id)
    await billing.advance(second)
    renewal = (await billing.invoices(subscription.id))[-1]
    assert renewal.status == S.INVOICE_STATUS_PAID
    assert shape(renewal) == shape(expected)
    assert (renewal.subtotal, renewal.total, renewal.amount_paid) == (2250, 2025, 2025)
    await billing.assert_books(net([2000, 2025]))
    # The once coupon is used: the next preview has no discount.
    after = await preview(billing, subscription=subscription.id)
    assert (after.subtotal, after.total, list(after.total_discount_amounts)) == (2000, 2000, [])


async def test_proposed_item_changes_are_previewed_with_prorations_and_change_nothing(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    monthly = await billing.price(1000)
    premium = await billing.price(3000)
    subscription = await billing.subscribe([(monthly, 1)])
    item_id = subscription.items[0].id
    second, third = add_months(START, 1), add_months(START, 2)
    changed_at = START + 10 * 86_400 + 3_600
    await billing.advance(changed_at)
    before_events = await event_counts(billing)
    details = S.CreateInvoicePreviewRequest.SubscriptionDetails(
        items=[S.UpdateSubscriptionRequest.Item(id=item_id, price=premium)],
    )

    upcoming = await preview(billing, subscription=subscription.id, subscription_details=details)
    credit, charge = -share(1000, START, second, changed_at), share(3000, START, second, changed_at)
    assert shape(upcoming) == [
        (3000, premium, False, second, third, 0),
        (credit, monthly, True, changed_at, second, 0),
        (charge, premium, True, changed_at, second, 0),
    ]
    assert upcoming.total == upcoming.amount_due == 3000 + credit + charge

    # An explicit proration_date, earlier in the period.
    earlier = START + 5 * 86_400
    dated = await preview(
        billing,
        subscription=subscription.id,
        subscription_details=S.CreateInvoicePreviewRequest.SubscriptionDetails(
            items=[S.UpdateSubscriptionRequest.Item(id=item_id, price=premium)],
            proration_date=earlier,
        ),
    )
    assert [line.amount for line in dated.lines] == [
        3000,
        -share(1000, START, second, earlier),
        share(3000, START, second, earlier),
    ]
    # proration_behavior none: the next period at the new price, no prorations.
    plain = await preview(
        billing,
        subscription=subscription.id,
        subscription_details=S.CreateInvoicePreviewRequest.SubscriptionDetails(
            items=[S.UpdateSubscriptionRequest.Item(id=item_id, quantity=2)],
            proration_behavior=S.PRORATION_BEHAVIOR_NONE,
        ),
    )
    assert shape(plain) == [(2000, monthly, False, second, third, 0)]

    # The subscription is unchanged, nothing recorded.
    unchanged = await billing.subscription(subscription.id)
    assert [(i.price.id, i.quantity) for i in unchanged.items] == [(monthly, 1)]
    assert await event_counts(billing) == before_events
    assert len(await billing.invoices(subscription.id)) == 1
    await billing.assert_books(net([1000]))

    # Making the change previewed at that moment: the renewal is the preview.
    await billing.update(subscription.id, items=details.items)
    await billing.advance(second)
    renewal = (await billing.invoices(subscription.id))[-1]
    assert shape(renewal) == shape(upcoming)
    assert renewal.amount_paid == upcoming.amount_due
    await billing.assert_books(net([1000, upcoming.amount_due]))


async def test_bad_previews_are_refused_naming_the_field(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    monthly = await billing.price(1000)
    subscription = await billing.subscribe([(monthly, 1)])
    other = await new_customer(shop.client, email="other@shop.test", name="Other")
    second = add_months(START, 1)
    item = S.UpdateSubscriptionRequest.Item
    details = S.CreateInvoicePreviewRequest.SubscriptionDetails
    cases: list[tuple[str, dict[str, Any], grpc.StatusCode, str]] = [
        ("nothing", {}, INVALID, "customer"),
        (
            "another customer's",
            {"customer": other.id, "subscription": subscription.id},
            INVALID,
            "subscription",
        ),
        ("a customer without one", {"customer": other.id}, NOT_FOUND, "customer"),
        (
            "proration_date after the period",
            {
                "subscription": subscription.id,
                "subscription_details": details(
                    items=[item(id=subscription.items[0].id, quantity=2)],
                    proration_date=second + 1,
                ),
            },
            INVALID,
            "subscription_details.proration_date",
        ),
        (
            "an unknown item",
            {
                "subscription": subscription.id,
                "subscription_details": details(items=[item(id="si_nope", quantity=2)]),
            },
            INVALID,
            "subscription_details.items[0].id",
        ),
    ]
    for what, fields, code, param in cases:
        refused = await failure(preview(billing, **fields), code)
        assert refused.param == param, (what, refused)

    await billing.update(subscription.id, cancel_at_period_end=True)
    none = await failure(preview(billing, subscription=subscription.id), NOT_FOUND)
    assert (none.reason, none.param) == ("INVOICE_UPCOMING_NONE", "subscription")
    assert len(await billing.invoices(subscription.id)) == 1
