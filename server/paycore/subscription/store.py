"""Subscription and item rows, and billing settings, on the merchant's shard (invoices:
paycore.subscription.invoice_store). Merchant-scoped like paycore.subscription.repository."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from paycore.storage.keys import merchant_row
from paycore.storage.reads import Kind, matching
from paycore.storage.rows import Decoder, Encoder
from paycore.storage.schema import (
    billing_settings,
    prices,
    subscription_items,
    subscriptions,
)
from paycore.subscription.coupon_store import discount_values, with_discounts
from paycore.subscription.models import (
    BillingSettings,
    FinalAction,
    Interval,
    Period,
    Price,
    Recurring,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)
from paycore.subscription.repository import decode_price
from sqlalchemy import Row, Select, and_, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class SubscriptionRepository:
    _connection: AsyncConnection

    async def insert(self, subscription: Subscription) -> None:
        await self._connection.execute(
            insert(subscriptions).values(**_subscription_values(subscription))
        )
        await self.insert_items(subscription)

    async def get(
        self, merchant_id: str, subscription_id: str, *, lock: bool = False
    ) -> Subscription | None:
        return await SUBSCRIPTIONS.fetch(self._connection, merchant_id, subscription_id, lock=lock)

    async def not_ended(
        self, merchant_id: str, *, customer_id: str = "", clock_id: str = ""
    ) -> list[str]:
        """The ids of the subscriptions of the customer, or on the clock, that have not ended,
        oldest first."""
        t = subscriptions
        ended = [status.value for status in SubscriptionStatus if status.ended]
        query = matching(
            t, merchant_id=merchant_id, customer_id=customer_id, test_clock_id=clock_id
        )
        rows = await self._connection.execute(
            query.with_only_columns(t.c.id)
            .where(t.c.status.not_in(ended))
            .order_by(t.c.created, t.c.id)
        )
        return [row.id for row in rows.all()]

    async def items(self, merchant_id: str, subscription_id: str) -> tuple[SubscriptionItem, ...]:
        t = subscription_items
        rows = await self._connection.execute(
            SUBSCRIPTION_ITEMS.of(merchant_id)
            .where(t.c.subscription_id == subscription_id)
            .order_by(t.c.id)
        )
        return tuple(_item(row) for row in rows.all())

    async def save(self, subscription: Subscription) -> None:
        """Writes the subscription's fields (not its items) as they now are."""
        t = subscriptions
        await self._connection.execute(
            update(t)
            .where(merchant_row(t, subscription.merchant_id, subscription.id))
            .values(**_subscription_values(subscription))
        )

    async def hold(self, merchant_id: str, subscription_id: str, seconds: float | None) -> None:
        """Claims the subscription from billing runs for `seconds` (real time); None releases
        it. A run skips a held subscription, so whoever holds it settles its charge."""
        t = subscriptions
        until = None if seconds is None else func.now() + timedelta(seconds=seconds)
        await self._connection.execute(
            update(t)
            .where(merchant_row(t, merchant_id, subscription_id))
            .values(claimed_until=until)
        )

    async def replace_items(self, subscription: Subscription) -> None:
        t = subscription_items
        merchant_id = subscription.merchant_id
        await self._connection.execute(
            delete(t).where(t.c.merchant_id == merchant_id, t.c.subscription_id == subscription.id)
        )
        await self.insert_items(subscription)

    async def insert_items(self, subscription: Subscription) -> None:
        if not subscription.items:
            return
        await self._connection.execute(
            insert(subscription_items),
            [
                {**_encode_item.mapping(item), "merchant_id": subscription.merchant_id}
                for item in subscription.items
            ],
        )


def subscriptions_query(
    merchant_id: str,
    customer_id: str,
    price_id: str,
    statuses: frozenset[SubscriptionStatus] | None,
    clock_id: str = "",
) -> Select[Any]:
    """Those of `statuses`; None: every subscription not canceled (Stripe's default)."""
    t = subscriptions
    query = matching(t, merchant_id=merchant_id, customer_id=customer_id, test_clock_id=clock_id)
    if price_id:
        items = subscription_items
        query = query.where(
            t.c.id.in_(
                select(items.c.subscription_id).where(
                    items.c.merchant_id == merchant_id, items.c.price_id == price_id
                )
            )
        )
    if statuses is None:
        query = query.where(t.c.status != SubscriptionStatus.CANCELED.value)
    elif statuses != frozenset(SubscriptionStatus):
        query = query.where(t.c.status.in_(sorted(status.value for status in statuses)))
    return query


async def _with_items(connection: AsyncConnection, found: list[Subscription]) -> list[Subscription]:
    repository = SubscriptionRepository(connection)
    return await with_discounts(
        connection,
        [replace(each, items=await repository.items(each.merchant_id, each.id)) for each in found],
    )


@dataclass(frozen=True, slots=True)
class BillingSettingsRepository:
    _connection: AsyncConnection

    async def get(self, merchant_id: str) -> BillingSettings:
        t = billing_settings
        row = (
            await self._connection.execute(select(t).where(t.c.merchant_id == merchant_id))
        ).one_or_none()
        if row is None:
            return BillingSettings()
        return BillingSettings(tuple(row.retry_schedule_days), FinalAction(row.final_action))

    async def put(self, merchant_id: str, settings: BillingSettings) -> None:
        values = {
            "retry_schedule_days": list(settings.retry_schedule_days),
            "final_action": settings.final_action.value,
        }
        await self._connection.execute(
            upsert(billing_settings)
            .values(merchant_id=merchant_id, **values)
            .on_conflict_do_update(index_elements=["merchant_id"], set_=values)
        )


def _recurring(row: Row[Any]) -> Recurring:
    return Recurring(Interval(row.interval), row.interval_count)


def _current_period(row: Row[Any]) -> Period:
    return Period(row.current_period_start, row.current_period_end)


_encode_subscription: Encoder[Subscription] = Encoder(subscriptions, Subscription)
_encode_item: Encoder[SubscriptionItem] = Encoder(
    subscription_items,
    SubscriptionItem,
    columns={"price": "price_id"},
    convert={"price": lambda price: price.id},
)
_decode_subscription: Decoder[Subscription] = Decoder(
    subscriptions,
    Subscription,
    derive={"recurring": _recurring, "current_period": _current_period},
    skip=("items", "discount"),
)
_PRICE_COLUMN = "price__"
"""The prefix of the price's columns in an item's row (`_ITEMS_PRICED`)."""
_ITEMS_PRICED = select(
    subscription_items, *(column.label(_PRICE_COLUMN + column.name) for column in prices.c)
).join(
    prices,
    and_(
        prices.c.merchant_id == subscription_items.c.merchant_id,
        prices.c.id == subscription_items.c.price_id,
    ),
)
"""Items with their prices' columns (each item names a price of its merchant's)."""


def _joined_price(row: Mapping[str, Any]) -> Price:
    return decode_price({c.name: row[_PRICE_COLUMN + c.name] for c in prices.c})


_item: Decoder[SubscriptionItem] = Decoder(
    subscription_items, SubscriptionItem, derive={"price": _joined_price}
)
SUBSCRIPTION_ITEMS = Kind("subscription_item", subscription_items, _item, selected=_ITEMS_PRICED)
"""The read path's kind of one item (GetSubscriptionItem), with its price."""
SUBSCRIPTIONS = Kind("subscription", subscriptions, _decode_subscription, complete=_with_items)
"""The read path's kind (paycore.storage.reads): a subscription with its items."""


def _subscription_values(subscription: Subscription) -> dict[str, Any]:
    return {
        **_encode_subscription.mapping(subscription),
        "interval": subscription.recurring.interval.value,
        "interval_count": subscription.recurring.interval_count,
        "current_period_start": subscription.current_period.start,
        "current_period_end": subscription.current_period.end,
        **discount_values(subscription),
    }
