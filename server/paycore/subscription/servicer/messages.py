"""Subscription objects rendered as their proto messages (responses and event payloads: the
composition root builds paycore.subscription.events.SubscriptionEvents' recorders with these)."""

from __future__ import annotations

from paycore.runtime.messages import converts, derived, message_of
from paycore.subscription.models import (
    BillingSettings,
    Invoice,
    InvoiceItem,
    InvoiceLine,
    InvoiceStatus,
    Price,
    Product,
    Subscription,
    SubscriptionItem,
    TestClock,
)
from paycore.v1 import subscription_pb2

product_message = derived(Product, subscription_pb2.Product)
clock_message = derived(TestClock, subscription_pb2.TestClock)
settings_message = derived(BillingSettings, subscription_pb2.BillingSettings)
item_message = derived(InvoiceItem, subscription_pb2.InvoiceItem)


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


@converts(subscription_pb2.Subscription)
def subscription_message(subscription: Subscription) -> subscription_pb2.Subscription:
    return message_of(
        subscription_pb2.Subscription,
        subscription,
        current_period_start=subscription.current_period.start,
        current_period_end=subscription.current_period.end,
    )


subscription_item_message = derived(SubscriptionItem, subscription_pb2.SubscriptionItem)


@converts(subscription_pb2.Invoice.LineItem)
def line_message(line: InvoiceLine) -> subscription_pb2.Invoice.LineItem:
    return message_of(
        subscription_pb2.Invoice.LineItem,
        line,
        period_start=line.period.start,
        period_end=line.period.end,
    )


@converts(subscription_pb2.Invoice)
def invoice_message(invoice: Invoice) -> subscription_pb2.Invoice:
    return message_of(
        subscription_pb2.Invoice,
        invoice,
        lines=[line_message(line) for line in invoice.lines],
        # A paid invoice has nothing left to collect, also when its amount was carried to the
        # next invoice (below the least charge) rather than paid.
        amount_remaining=(
            0 if invoice.status is InvoiceStatus.PAID else invoice.amount_due - invoice.amount_paid
        ),
        period_start=invoice.period.start,
        period_end=invoice.period.end,
    )
