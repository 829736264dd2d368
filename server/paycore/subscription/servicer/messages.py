"""Subscription objects rendered as their proto messages (responses and event payloads:
`SUBSCRIPTION_MESSAGES` is the renderer paycore.subscription.events.SubscriptionEvents is built
with)."""

from __future__ import annotations

from paycore.runtime.messages import message_of
from paycore.subscription.models import (
    BillingSettings,
    Invoice,
    InvoiceItem,
    Price,
    Product,
    Subscription,
    TestClock,
)
from paycore.v1 import subscription_pb2


def product_message(product: Product) -> subscription_pb2.Product:
    return message_of(subscription_pb2.Product, product)


def price_message(price: Price) -> subscription_pb2.Price:
    one_time = price.recurring is None
    kind = (
        subscription_pb2.PRICE_TYPE_ONE_TIME if one_time else subscription_pb2.PRICE_TYPE_RECURRING
    )
    return message_of(subscription_pb2.Price, price, type=kind)


def clock_message(clock: TestClock) -> subscription_pb2.TestClock:
    return message_of(subscription_pb2.TestClock, clock)


def subscription_message(subscription: Subscription) -> subscription_pb2.Subscription:
    return message_of(
        subscription_pb2.Subscription,
        subscription,
        current_period_start=subscription.current_period.start,
        current_period_end=subscription.current_period.end,
    )


def invoice_message(invoice: Invoice) -> subscription_pb2.Invoice:
    return message_of(
        subscription_pb2.Invoice,
        invoice,
        lines=[
            message_of(
                subscription_pb2.Invoice.LineItem,
                line,
                period_start=line.period.start,
                period_end=line.period.end,
            )
            for line in invoice.lines
        ],
        amount_remaining=invoice.amount_due - invoice.amount_paid,
        period_start=invoice.period.start,
        period_end=invoice.period.end,
    )


def settings_message(settings: BillingSettings) -> subscription_pb2.BillingSettings:
    return message_of(subscription_pb2.BillingSettings, settings)


def item_message(item: InvoiceItem) -> subscription_pb2.InvoiceItem:
    return message_of(subscription_pb2.InvoiceItem, item)


class _SubscriptionMessages:
    """paycore.subscription.events.ObjectRenderer."""

    product = staticmethod(product_message)
    price = staticmethod(price_message)
    subscription = staticmethod(subscription_message)
    invoice = staticmethod(invoice_message)
    item = staticmethod(item_message)


SUBSCRIPTION_MESSAGES = _SubscriptionMessages()
