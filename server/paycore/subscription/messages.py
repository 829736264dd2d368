"""Subscription objects rendered as their proto messages (responses and event payloads)."""

from __future__ import annotations

from paycore.contracts import enum_number
from paycore.subscription.models import Interval, Price, Product, TestClock
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
