"""Event rows on a merchant's shard. Reads take the merchant id first and filter by it; the
outbox claim is the one query across merchants: the publisher drains a whole shard."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paycore.events.models import Event, NewEvent, TypeFilter
from paycore.storage.raw import driver_of, jsonb
from paycore.storage.reads import Kind
from paycore.storage.rows import Decoder
from paycore.storage.schema import events, webhook_deliveries
from paycore.storage.statements import Insert, column_names
from sqlalchemy import Select, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

# Every state change writes one (paycore.storage.raw: asyncpg, not Core).
_COLUMNS = column_names(
    events,
    [
        "merchant_id",
        "id",
        "type",
        "object_id",
        "object_type",
        "data",
        "request_id",
        "idempotency_key",
    ],
)
# Events a recorder writes (paycore.events.outbox): with an update's previous_attributes.
_INSERT = Insert(events, [*_COLUMNS, "previous_attributes"]).sql


class EventsInsert:
    """Events written as one part of a WITH (`name AS (INSERT INTO events ...)`), for a
    statement that writes them beside the change they describe (paycore.payment.charging,
    PayInRepository.update_intent_with_event). Its parameters start at `start`: the merchant,
    then one array per column. `only_if`: an SQL condition the insert waits on."""

    def __init__(self, start: int, only_if: str = "") -> None:
        arrays = ", ".join(
            f"${number}::text[]" for number in range(start + 1, start + len(_COLUMNS))
        )
        condition = f" WHERE {only_if}" if only_if else ""
        self.part = (
            f"event AS (\n  INSERT INTO events ({', '.join(_COLUMNS)})\n"
            f"  SELECT ${start}, i, t, o, ot, d::jsonb, r, k"
            f" FROM unnest({arrays}) AS u(i, t, o, ot, d, r, k)"
            f"{condition}\n)"
        )
        self.next = start + len(_COLUMNS)

    @staticmethod
    def arguments(merchant_id: str, written: Sequence[NewEvent]) -> list[Any]:
        return [
            merchant_id,
            [event.id for event in written],
            [event.type for event in written],
            [event.object_id for event in written],
            [event.object_type for event in written],
            [jsonb(event.data) for event in written],
            [event.request_id for event in written],
            [event.idempotency_key for event in written],
        ]


class EventRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def insert_many(self, written: Sequence[NewEvent]) -> None:
        """The events, pipelined in one round trip (pay-out's scheduler records a batch of
        payouts' events at once); one alone in one statement."""
        rows = [
            (
                event.merchant_id,
                event.id,
                event.type,
                event.object_id,
                event.object_type,
                jsonb(event.data),
                event.request_id,
                event.idempotency_key,
                None if event.previous_attributes is None else jsonb(event.previous_attributes),
            )
            for event in written
        ]
        if not rows:
            return
        driver = await driver_of(self._connection)
        if len(rows) == 1:
            await driver.execute(_INSERT, *rows[0])
        else:
            await driver.executemany(_INSERT, rows)


def events_query(
    merchant_id: str,
    type_filter: TypeFilter,
    object_id: str = "",
    delivery_success: bool | None = None,
) -> Select[Any]:
    """The merchant's events that the filters keep: each a plain comparison that an index of
    the table serves (events_type_idx for types; events_created_idx serves the page's
    `created`, which `Reads.page` adds); `delivery_success` an EXISTS per event on
    webhook_deliveries_event_idx (ListEventsRequest.delivery_success)."""
    query = select(events).where(events.c.merchant_id == merchant_id)
    if delivery_success is not None:
        query = query.where(*_delivered(delivery_success))
    if object_id:
        query = query.where(events.c.object_id == object_id)
    types = [
        *([events.c.type.in_(type_filter.exact)] if type_filter.exact else []),
        *(events.c.type.startswith(prefix, autoescape=True) for prefix in type_filter.prefixes),
    ]
    if types:
        query = query.where(or_(*types))
    if type_filter.hidden:
        query = query.where(events.c.type.not_in(type_filter.hidden))
    return query


# A delivery's status that is a success (paycore.webhooks.models.DeliveryStatus.SUCCEEDED).
_SUCCEEDED = "succeeded"


def _delivered(success: bool) -> list[Any]:
    """ListEvents' delivery_success: false, a delivery of the event not succeeded (pending or
    failed); true, at least one delivery and every one succeeded."""
    deliveries = select(webhook_deliveries.c.id).where(
        webhook_deliveries.c.merchant_id == events.c.merchant_id,
        webhook_deliveries.c.event_id == events.c.id,
    )
    unsuccessful = deliveries.where(webhook_deliveries.c.status != _SUCCEEDED).exists()
    if not success:
        return [unsuccessful]
    return [deliveries.exists(), ~unsuccessful]


async def claim_unpublished(connection: AsyncConnection, limit: int) -> list[Event]:
    """Locks up to `limit` unpublished events of the shard, oldest id first, skipping those
    another publisher holds: concurrent publishers take disjoint batches."""
    rows = (
        await connection.execute(
            select(events)
            .where(events.c.published_at.is_(None))
            .order_by(events.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    return [decode_event(row) for row in rows]


async def mark_published(connection: AsyncConnection, claimed: Sequence[Event]) -> None:
    keys = [(event.merchant_id, event.id) for event in claimed]
    await connection.execute(
        update(events)
        .where(tuple_(events.c.merchant_id, events.c.id).in_(keys))
        .values(published_at=func.now())
    )


decode_event: Decoder[Event] = Decoder(
    events,
    Event,
    columns={"created": "created_at"},
    convert={"data": dict},
)
EVENTS = Kind("event", events, decode_event)
