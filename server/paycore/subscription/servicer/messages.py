"""Subscription objects rendered as their proto messages (responses and event payloads: the
composition root builds paycore.subscription.events.SubscriptionEvents' recorders with these)."""

from __future__ import annotations

from dataclasses import replace

from paycore.runtime.messages import converts, derived, message_of
from paycore.subscription.models import (
    PERCENT_SCALE,
    BillingSettings,
    Coupon,
    Discount,
    Invoice,
    InvoiceItem,
    InvoiceLine,
    InvoiceStatus,
    Period,
    PlacedItem,
    Price,
    Product,
    PromotionCode,
    Subscription,
    SubscriptionItem,
    TestClock,
)
from paycore.v1 import subscription_pb2

product_message = derived(Product, subscription_pb2.Product)
clock_message = derived(TestClock, subscription_pb2.TestClock)
settings_message = derived(BillingSettings, subscription_pb2.BillingSettings)
item_message = derived(InvoiceItem, subscription_pb2.InvoiceItem)
CHARGE_AUTOMATICALLY = "charge_automatically"
"""Every subscription's and invoice's collection_method (send_invoice is not supported)."""


@converts(subscription_pb2.DeleteInvoiceItemResponse)
def deleted_item_message(item: InvoiceItem) -> subscription_pb2.DeleteInvoiceItemResponse:
    return subscription_pb2.DeleteInvoiceItemResponse(id=item.id, deleted=True)


@converts(subscription_pb2.DeleteTestClockResponse)
def deleted_clock_message(clock: TestClock) -> subscription_pb2.DeleteTestClockResponse:
    return subscription_pb2.DeleteTestClockResponse(id=clock.id, deleted=True)


@converts(subscription_pb2.Price)
def price_message(price: Price) -> subscription_pb2.Price:
    one_time = price.recurring is None
    kind = (
        subscription_pb2.PRICE_TYPE_ONE_TIME if one_time else subscription_pb2.PRICE_TYPE_RECURRING
    )
    return message_of(subscription_pb2.Price, price, type=kind)


def percent_text(hundredths: int | None) -> str:
    """Hundredths of a percent as the exact decimal ("12.5", "25"); "" for None."""
    if hundredths is None:
        return ""
    whole, fraction = divmod(hundredths, PERCENT_SCALE)
    return f"{whole}.{fraction:02d}".rstrip("0").rstrip(".") if fraction else str(whole)


@converts(subscription_pb2.Coupon)
def coupon_message(coupon: Coupon) -> subscription_pb2.Coupon:
    return message_of(subscription_pb2.Coupon, coupon, percent_off=percent_text(coupon.percent_off))


@converts(subscription_pb2.PromotionCode)
def promotion_code_message(code: PromotionCode) -> subscription_pb2.PromotionCode:
    return message_of(
        subscription_pb2.PromotionCode,
        code,
        coupon=None if code.coupon is None else coupon_message(code.coupon),
        restrictions=subscription_pb2.PromotionCodeRestrictions(
            first_time_transaction=code.restrictions.first_time_transaction,
            minimum_amount=code.restrictions.minimum_amount or 0,
            minimum_amount_currency=code.restrictions.minimum_amount_currency or "",
        ),
    )


@converts(subscription_pb2.DeleteCouponResponse)
def deleted_coupon_message(coupon: Coupon) -> subscription_pb2.DeleteCouponResponse:
    return subscription_pb2.DeleteCouponResponse(id=coupon.id, deleted=True)


@converts(subscription_pb2.DeleteSubscriptionDiscountResponse)
def deleted_discount_message(
    discount: Discount,
) -> subscription_pb2.DeleteSubscriptionDiscountResponse:
    return subscription_pb2.DeleteSubscriptionDiscountResponse(
        id=discount.id,
        deleted=True,
        subscription=discount.subscription_id,
        customer=discount.customer_id,
    )


@converts(subscription_pb2.Discount)
def discount_message(discount: Discount) -> subscription_pb2.Discount:
    return message_of(
        subscription_pb2.Discount,
        discount,
        coupon=coupon_message(discount.coupon),
        subscription=discount.subscription_id,
        created=discount.start,
    )


@converts(subscription_pb2.Subscription)
def subscription_message(subscription: Subscription) -> subscription_pb2.Subscription:
    discount = subscription.discount
    return message_of(
        subscription_pb2.Subscription,
        subscription,
        discount=None if discount is None else discount_message(discount),
        discounts=[] if discount is None else [discount.id],
        current_period_start=subscription.current_period.start,
        current_period_end=subscription.current_period.end,
        # Stripe's: when it is to cancel, the period's end while it cancels at period end.
        cancel_at=subscription.current_period.end if subscription.cancel_at_period_end else 0,
        collection_method=CHARGE_AUTOMATICALLY,
        items=[
            subscription_item_message(item, subscription.current_period)
            for item in subscription.items
        ],
    )


@converts(subscription_pb2.SubscriptionItem)
def placed_item_message(placed: PlacedItem) -> subscription_pb2.SubscriptionItem:
    return subscription_item_message(placed.item, placed.period)


@converts(subscription_pb2.DeleteSubscriptionItemResponse)
def deleted_subscription_item_message(
    item: SubscriptionItem,
) -> subscription_pb2.DeleteSubscriptionItemResponse:
    return subscription_pb2.DeleteSubscriptionItemResponse(id=item.id, deleted=True)


def subscription_item_message(
    item: SubscriptionItem, period: Period
) -> subscription_pb2.SubscriptionItem:
    """An item with its subscription's current `period` (Stripe shows it on each item) and its
    Price object."""
    return message_of(
        subscription_pb2.SubscriptionItem,
        item,
        price=price_message(item.price),
        current_period_start=period.start,
        current_period_end=period.end,
        subscription=item.subscription_id,
    )


@converts(subscription_pb2.Invoice.LineItem)
def line_message(line: InvoiceLine) -> subscription_pb2.Invoice.LineItem:
    return message_of(
        subscription_pb2.Invoice.LineItem,
        line,
        period_start=line.period.start,
        period_end=line.period.end,
        discount_amounts=_discount_amounts(line.discount_amount, line.discount_id, line.currency),
        type=line.type,
    )


def _discount_amounts(
    amount: int, discount_id: str | None, currency: str
) -> list[subscription_pb2.DiscountAmount]:
    if not discount_id:
        return []
    return [subscription_pb2.DiscountAmount(amount=amount, discount=discount_id, currency=currency)]


@converts(subscription_pb2.Invoice)
def invoice_message(invoice: Invoice) -> subscription_pb2.Invoice:
    return message_of(
        subscription_pb2.Invoice,
        invoice,
        # A line not stored (a preview's) names the invoice's subscription as a stored one.
        lines=[
            line_message(replace(line, subscription_id=invoice.subscription_id))
            for line in invoice.lines
        ],
        total_discount_amounts=_discount_amounts(
            invoice.total_discount, invoice.discount_id, invoice.currency
        ),
        discounts=[invoice.discount_id] if invoice.discount_id else [],
        # A paid invoice has nothing left to collect, also when its amount was carried to the
        # next invoice (below the least charge) rather than paid.
        amount_remaining=(
            0 if invoice.status is InvoiceStatus.PAID else invoice.amount_due - invoice.amount_paid
        ),
        period_start=invoice.period.start,
        period_end=invoice.period.end,
        paid=invoice.status is InvoiceStatus.PAID,
        # As Stripe's: a paid, void or uncollectible invoice never advances by itself.
        auto_advance=invoice.auto_advance
        and invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.OPEN),
        attempted=invoice.attempt_count > 0 or invoice.status is InvoiceStatus.PAID,
        collection_method=CHARGE_AUTOMATICALLY,
        status_transitions=subscription_pb2.Invoice.StatusTransitions(
            finalized_at=invoice.finalized_at or 0,
            marked_uncollectible_at=invoice.marked_uncollectible_at or 0,
            paid_at=invoice.paid_at or 0,
            voided_at=invoice.voided_at or 0,
        ),
    )


@converts(subscription_pb2.DeleteInvoiceResponse)
def deleted_invoice_message(invoice: Invoice) -> subscription_pb2.DeleteInvoiceResponse:
    return subscription_pb2.DeleteInvoiceResponse(id=invoice.id, deleted=True)
