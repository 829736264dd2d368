"""Subscription objects rendered as their proto messages (responses and event payloads:
`SUBSCRIPTION_MESSAGES` is the renderer paycore.subscription.events.SubscriptionEvents is built
with)."""

from __future__ import annotations

from paycore.contracts import enum_number
from paycore.subscription.models import (
    BillingSettings,
    FinalAction,
    Interval,
    Invoice,
    InvoiceItem,
    Price,
    Product,
    Subscription,
    TestClock,
)
from paycore.v1 import subscription_pb2

# RecurringInterval numbers a request may name; RECURRING_INTERVAL_UNSPECIFIED is "missing".
INTERVALS: dict[int, Interval] = {
    subscription_pb2.RECURRING_INTERVAL_DAY: Interval.DAY,
    subscription_pb2.RECURRING_INTERVAL_WEEK: Interval.WEEK,
    subscription_pb2.RECURRING_INTERVAL_MONTH: Interval.MONTH,
    subscription_pb2.RECURRING_INTERVAL_YEAR: Interval.YEAR,
}


def product_message(product: Product) -> subscription_pb2.Product:
    return subscription_pb2.Product(
        id=product.id,
        name=product.name,
        description=product.description,
        active=product.active,
        created=product.created,
        metadata=product.metadata,
    )


def price_message(price: Price) -> subscription_pb2.Price:
    message = subscription_pb2.Price(
        id=price.id,
        product=price.product_id,
        unit_amount=price.unit_amount,
        currency=price.currency,
        type=subscription_pb2.PRICE_TYPE_ONE_TIME,
        active=price.active,
        nickname=price.nickname,
        created=price.created,
        metadata=price.metadata,
    )
    if price.recurring is not None:
        message.type = subscription_pb2.PRICE_TYPE_RECURRING
        message.recurring.interval = enum_number(
            subscription_pb2.RecurringInterval, "RECURRING_INTERVAL", price.recurring.interval.value
        )
        message.recurring.interval_count = price.recurring.interval_count
    return message


def clock_message(clock: TestClock) -> subscription_pb2.TestClock:
    return subscription_pb2.TestClock(
        id=clock.id,
        name=clock.name,
        frozen_time=clock.frozen_time,
        status=enum_number(
            subscription_pb2.TestClockStatus, "TEST_CLOCK_STATUS", clock.status.value
        ),
        created=clock.created,
        metadata=clock.metadata,
    )


def subscription_message(subscription: Subscription) -> subscription_pb2.Subscription:
    return subscription_pb2.Subscription(
        id=subscription.id,
        customer=subscription.customer_id,
        status=enum_number(
            subscription_pb2.SubscriptionStatus,
            "SUBSCRIPTION_STATUS",
            subscription.status.value,
        ),
        items=[
            subscription_pb2.SubscriptionItem(
                id=item.id,
                price=item.price_id,
                quantity=item.quantity,
                created=item.created,
                metadata=item.metadata,
            )
            for item in subscription.items
        ],
        currency=subscription.currency,
        current_period_start=subscription.current_period.start,
        current_period_end=subscription.current_period.end,
        billing_cycle_anchor=subscription.billing_cycle_anchor,
        trial_start=subscription.trial_start or 0,
        trial_end=subscription.trial_end or 0,
        cancel_at_period_end=subscription.cancel_at_period_end,
        canceled_at=subscription.canceled_at or 0,
        ended_at=subscription.ended_at or 0,
        default_payment_method=subscription.default_payment_method_id or "",
        latest_invoice=subscription.latest_invoice_id or "",
        test_clock=subscription.test_clock_id or "",
        created=subscription.created,
        metadata=subscription.metadata,
    )


def invoice_message(invoice: Invoice) -> subscription_pb2.Invoice:
    return subscription_pb2.Invoice(
        id=invoice.id,
        customer=invoice.customer_id,
        subscription=invoice.subscription_id,
        status=enum_number(subscription_pb2.InvoiceStatus, "INVOICE_STATUS", invoice.status.value),
        billing_reason=enum_number(
            subscription_pb2.InvoiceBillingReason,
            "INVOICE_BILLING_REASON",
            invoice.billing_reason.value,
        ),
        currency=invoice.currency,
        lines=[
            subscription_pb2.Invoice.LineItem(
                amount=line.amount,
                currency=line.currency,
                description=line.description,
                price=line.price_id or "",
                quantity=line.quantity,
                subscription_item=line.subscription_item_id or "",
                proration=line.proration,
                period_start=line.period.start,
                period_end=line.period.end,
            )
            for line in invoice.lines
        ],
        subtotal=invoice.subtotal,
        total=invoice.total,
        amount_due=invoice.amount_due,
        amount_paid=invoice.amount_paid,
        amount_remaining=invoice.amount_due - invoice.amount_paid,
        payment_intent=invoice.payment_intent_id or "",
        attempt_count=invoice.attempt_count,
        next_payment_attempt=invoice.next_payment_attempt or 0,
        period_start=invoice.period.start,
        period_end=invoice.period.end,
        paid_at=invoice.paid_at or 0,
        test_clock=invoice.test_clock_id or "",
        created=invoice.created,
        metadata=invoice.metadata,
        number=invoice.number,
    )


FINAL_ACTIONS: dict[int, FinalAction] = {
    subscription_pb2.DUNNING_FINAL_ACTION_CANCEL: FinalAction.CANCEL,
    subscription_pb2.DUNNING_FINAL_ACTION_MARK_UNPAID: FinalAction.MARK_UNPAID,
}


def settings_message(settings: BillingSettings) -> subscription_pb2.BillingSettings:
    return subscription_pb2.BillingSettings(
        retry_schedule_days=list(settings.retry_schedule_days),
        final_action=enum_number(
            subscription_pb2.DunningFinalAction,
            "DUNNING_FINAL_ACTION",
            settings.final_action.value,
        ),
    )


def item_message(item: InvoiceItem) -> subscription_pb2.InvoiceItem:
    return subscription_pb2.InvoiceItem(
        id=item.id,
        customer=item.customer_id,
        subscription=item.subscription_id,
        price=item.price_id or "",
        amount=item.amount,
        currency=item.currency,
        quantity=item.quantity,
        description=item.description,
        invoice=item.invoice_id or "",
        created=item.created,
        metadata=item.metadata,
    )


class _SubscriptionMessages:
    """paycore.subscription.events.ObjectRenderer."""

    product = staticmethod(product_message)
    price = staticmethod(price_message)
    subscription = staticmethod(subscription_message)
    invoice = staticmethod(invoice_message)
    item = staticmethod(item_message)


SUBSCRIPTION_MESSAGES = _SubscriptionMessages()
