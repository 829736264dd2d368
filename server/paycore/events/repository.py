"""Event rows on a merchant's shard. Reads take the merchant id first and filter by it; the
outbox claim is the one query across merchants: the publisher drains a whole shard."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paycore.events.models import Event, EventPage, TypeFilter
from paycore.storage.pagination import newest_first, page
from paycore.storage.raw import driver_of, jsonb
from paycore.storage.schema import events
from sqlalchemy import Row, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

# Every state change writes one (paycore.storage.raw: asyncpg, not Core).
_INSERT = """
INSERT INTO events (merchant_id, id, type, object_id, object_type, data)
VALUES ($1, $2, $3, $4, $5, $6)
"""


class EventRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def insert(
        self,
        merchant_id: str,
        event_id: str,
        event_type: str,
        object_id: str | None,
        object_type: str,
        data: dict[str, Any],
    ) -> None:
        driver = await driver_of(self._connection)
        await driver.execute(
            _INSERT, merchant_id, event_id, event_type, object_id, object_type, jsonb(data)
        )

    async def insert_many(self, rows: Sequence[tuple[str, str, str, str | None, str, Any]]) -> None:
        """(merchant, id, type, object id, object type, data) rows, pipelined in one round trip
        (pay-out's scheduler records a batch of payouts' events at once)."""
        if rows:
            driver = await driver_of(self._connection)
            await driver.executemany(_INSERT, [(*row[:5], jsonb(row[5])) for row in rows])

    async def get(self, merchant_id: str, event_id: str) -> Event | None:
        row = (
            await self._connection.execute(
                select(events).where(events.c.merchant_id == merchant_id, events.c.id == event_id)
            )
        ).one_or_none()
        return None if row is None else _event(row)

    async def list(
        self, merchant_id: str, limit: int, starting_after: str, type_filter: TypeFilter
    ) -> EventPage:
        query = select(events).where(events.c.merchant_id == merchant_id)
        if type_filter.exact:
            query = query.where(events.c.type == type_filter.exact)
        elif type_filter.prefix:
            query = query.where(events.c.type.startswith(type_filter.prefix, autoescape=True))
        rows = (
            await self._connection.execute(newest_first(query, events.c.id, limit, starting_after))
        ).all()
        data, has_more = page(rows, limit)
        return EventPage([_event(row) for row in data], has_more)


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
    return [_event(row) for row in rows]


async def mark_published(connection: AsyncConnection, claimed: Sequence[Event]) -> None:
    keys = [(event.merchant_id, event.id) for event in claimed]
    await connection.execute(
        update(events)
        .where(tuple_(events.c.merchant_id, events.c.id).in_(keys))
        .values(published_at=func.now())
    )


def _event(row: Row[Any]) -> Event:
    return Event(
        id=row.id,
        merchant_id=row.merchant_id,
        type=row.type,
        object_id=row.object_id,
        object_type=row.object_type,
        data=dict(row.data),
        created=int(row.created_at.timestamp()),
    )
