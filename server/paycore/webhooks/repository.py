"""Webhook rows on a merchant's shard: endpoints, deliveries, attempts.

Merchant-scoped methods take the merchant id first and filter by it. The worker's statements
(fan-out, claim, record) work across the shard's merchants, as the outbox's claim does, and
are asyncpg statements (paycore.storage.raw): they run for every delivery. Their column lists
are built from the schema's tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from paycore.events.types import OPERATOR_EVENT_TYPES, is_merchant_event_type
from paycore.storage.locks import lock_until_commit
from paycore.storage.raw import driver_of
from paycore.storage.reads import Kind, matching
from paycore.storage.rows import Decoder, epoch_seconds_or_zero
from paycore.storage.schema import events, webhook_attempts, webhook_deliveries, webhook_endpoints
from paycore.webhooks.models import (
    Attempt,
    AttemptResult,
    Delivery,
    DeliveryFilter,
    DeliveryStatus,
    Endpoint,
)
from sqlalchemy import Column, ColumnElement, Row, Select, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

# The latest attempts shown with a delivery.
ATTEMPTS_SHOWN_MAX = 100
E = webhook_endpoints.c
D = webhook_deliveries.c
A = webhook_attempts.c
V = events.c


def _names(*columns: Column[Any]) -> str:
    return ", ".join(column.name for column in columns)


# -- endpoints ----------------------------------------------------------------------------------


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


decode_endpoint: Decoder[Endpoint] = Decoder(
    webhook_endpoints, Endpoint, convert={"metadata": lambda value: dict(_json(value))}
)
"""From a Core row or from the driver's record (which hands jsonb over as text)."""
ENDPOINTS = Kind("webhook_endpoint", webhook_endpoints, decode_endpoint)
"""The read path's kind (paycore.storage.reads)."""


@dataclass(frozen=True)
class SealedSecrets:
    current: bytes
    previous: bytes | None
    previous_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class EndpointRepository:
    _connection: AsyncConnection

    async def lock_merchant(self, merchant_id: str) -> None:
        """Serializes the merchant's endpoint creations (the count limit) until commit."""
        await lock_until_commit(self._connection, f"we:{merchant_id}")

    async def count(self, merchant_id: str) -> int:
        counted = await self._connection.scalar(
            select(func.count()).select_from(webhook_endpoints).where(E.merchant_id == merchant_id)
        )
        return int(counted or 0)

    async def insert(self, endpoint: Endpoint, sealed_secret: bytes) -> None:
        await self._connection.execute(
            insert(webhook_endpoints).values(
                merchant_id=endpoint.merchant_id,
                id=endpoint.id,
                url=endpoint.url,
                enabled_events=list(endpoint.enabled_events),
                description=endpoint.description,
                metadata=endpoint.metadata,
                api_version=endpoint.api_version,
                status=endpoint.status.value,
                secret=sealed_secret,
                created=endpoint.created,
            )
        )

    async def locked(self, merchant_id: str, endpoint_id: str) -> Row[Any] | None:
        row: Row[Any] | None = (
            await self._connection.execute(
                ENDPOINTS.by_id(merchant_id, endpoint_id).with_for_update()
            )
        ).one_or_none()
        return row

    async def update(self, merchant_id: str, endpoint_id: str, values: dict[str, Any]) -> Endpoint:
        row = (
            await self._connection.execute(
                update(webhook_endpoints)
                .where(E.merchant_id == merchant_id, E.id == endpoint_id)
                .values(**values)
                .returning(*webhook_endpoints.c)
            )
        ).one()
        return decode_endpoint(row)

    async def park_deliveries(self, merchant_id: str, endpoint_id: str) -> None:
        """A disabled endpoint's pending deliveries wait, out of the due queue, until it is
        enabled again (`unpark_deliveries`)."""
        await self._connection.execute(
            update(webhook_deliveries)
            .where(*_pending_of(merchant_id, endpoint_id))
            .values(next_attempt_at=None)
        )

    async def unpark_deliveries(self, merchant_id: str, endpoint_id: str) -> None:
        await self._connection.execute(
            update(webhook_deliveries)
            .where(*_pending_of(merchant_id, endpoint_id), D.next_attempt_at.is_(None))
            .values(next_attempt_at=func.now())
        )

    async def delete(self, merchant_id: str, endpoint_id: str) -> None:
        """The endpoint, its deliveries and their attempts."""
        delivery_ids = (
            select(D.id)
            .where(D.merchant_id == merchant_id, D.endpoint_id == endpoint_id)
            .scalar_subquery()
        )
        await self._connection.execute(
            delete(webhook_attempts).where(
                A.merchant_id == merchant_id, A.delivery_id.in_(delivery_ids)
            )
        )
        await self._connection.execute(
            delete(webhook_deliveries).where(
                D.merchant_id == merchant_id, D.endpoint_id == endpoint_id
            )
        )
        await self._connection.execute(
            delete(webhook_endpoints).where(E.merchant_id == merchant_id, E.id == endpoint_id)
        )


def _pending_of(merchant_id: str, endpoint_id: str) -> tuple[ColumnElement[bool], ...]:
    """The endpoint's pending deliveries."""
    return (
        D.merchant_id == merchant_id,
        D.endpoint_id == endpoint_id,
        D.status == DeliveryStatus.PENDING.value,
    )


# -- deliveries and their log -------------------------------------------------------------------


def deliveries_listed(merchant_id: str, where: DeliveryFilter) -> Select[Any]:
    return matching(webhook_deliveries, where, merchant_id=merchant_id)


def _next_attempt(row: Row[Any]) -> int:
    return epoch_seconds_or_zero(row.next_attempt_at) if row.status == DeliveryStatus.PENDING else 0


decode_delivery: Decoder[Delivery] = Decoder(
    webhook_deliveries,
    Delivery,
    columns={"last_attempt": "last_attempt_at"},
    convert={"last_attempt": epoch_seconds_or_zero},
    derive={"next_attempt": _next_attempt},
    skip=("attempts",),
)
_attempt: Decoder[Attempt] = Decoder(
    webhook_attempts,
    Attempt,
    columns={"attempted": "attempted_at"},
)


async def attempts_of(
    connection: AsyncConnection, merchant_id: str, delivery_ids: Sequence[str]
) -> dict[str, list[Attempt]]:
    """The latest ATTEMPTS_SHOWN_MAX attempts of each delivery, oldest first."""
    if not delivery_ids:
        return {}
    ranked = (
        select(
            webhook_attempts,
            func.row_number()
            .over(partition_by=A.delivery_id, order_by=A.number.desc())
            .label("recency"),
        )
        .where(A.merchant_id == merchant_id, A.delivery_id.in_(delivery_ids))
        .subquery()
    )
    rows = (
        await connection.execute(
            select(ranked)
            .where(ranked.c.recency <= ATTEMPTS_SHOWN_MAX)
            .order_by(ranked.c.delivery_id, ranked.c.number)
        )
    ).all()
    found: dict[str, list[Attempt]] = {}
    for row in rows:
        found.setdefault(row.delivery_id, []).append(_attempt(row))
    return found


async def event_exists(connection: AsyncConnection, merchant_id: str, event_id: str) -> bool:
    """Whether the merchant has the event as webhooks see events: an operators' event (never
    sent to an endpoint, hidden from the merchant's key) is not one."""
    found = await event_type_of(connection, merchant_id, event_id)
    return found is not None and is_merchant_event_type(found)


async def event_type_of(connection: AsyncConnection, merchant_id: str, event_id: str) -> str | None:
    found = await connection.scalar(
        select(V.type).where(V.merchant_id == merchant_id, V.id == event_id)
    )
    return None if found is None else str(found)


@dataclass(frozen=True)
class NewDelivery:
    merchant_id: str
    id: str
    event_id: str
    endpoint_id: str
    event_type: str


_INSERT_DELIVERIES = f"""
INSERT INTO webhook_deliveries ({
    _names(
        D.merchant_id,
        D.id,
        D.event_id,
        D.endpoint_id,
        D.event_type,
        D.status,
        D.attempt_count,
        D.next_attempt_at,
        D.last_response_status,
        D.last_error,
        D.expires_at,
        D.created,
    )
})
SELECT merchant_id, id, event_id, endpoint_id, event_type, 'pending', 0, next_attempt_at, 0, '',
  $7, $8
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
  AS n(merchant_id, id, event_id, endpoint_id, event_type, next_attempt_at)
"""


async def insert_deliveries(
    connection: AsyncConnection,
    deliveries: Sequence[NewDelivery],
    next_attempts_at: Sequence[datetime],
    created_at: datetime,
    expires_at: datetime,
) -> None:
    """Pending deliveries, each attempted at its `next_attempts_at` (due at once, or leased by
    the worker that creates it), retried until `expires_at`."""
    if not deliveries:
        return
    driver = await driver_of(connection)
    await driver.execute(
        _INSERT_DELIVERIES,
        *_arrays(deliveries, "merchant_id", "id", "event_id", "endpoint_id", "event_type"),
        list(next_attempts_at),
        expires_at,
        int(created_at.timestamp()),
    )


async def delivery(connection: AsyncConnection, merchant_id: str, delivery_id: str) -> Delivery:
    row = (
        await connection.execute(
            select(webhook_deliveries).where(D.merchant_id == merchant_id, D.id == delivery_id)
        )
    ).one()
    return decode_delivery(row)


# -- the worker: fan-out, claim, record ---------------------------------------------------------


@dataclass(frozen=True)
class FannedOut:
    events: int
    wanted: list[ClaimedRow]
    """A row per (event, endpoint that wants it), its delivery not yet made: id "", no
    attempt yet, expires_at unset (the caller decides both)."""


# Claims unfanned events (oldest first, skipping those another worker holds), marks them, and
# pairs each with the merchant's enabled endpoints that want its type and existed before it,
# with what an attempt needs (so the worker can attempt at once what it fans out).
_FAN_OUT = f"""
WITH claimed AS (
  SELECT {V.merchant_id.name}, {V.id.name} FROM events
  WHERE {V.webhooks_fanned_out_at.name} IS NULL
  ORDER BY {V.id.name} LIMIT $1
  FOR UPDATE SKIP LOCKED
), marked AS (
  UPDATE events AS v SET {V.webhooks_fanned_out_at.name} = now()
  FROM claimed AS c WHERE v.merchant_id = c.merchant_id AND v.id = c.id
  RETURNING v.merchant_id, v.id, v.type, v.object_id, v.object_type, v.data,
    v.previous_attributes, v.request_id, v.idempotency_key, v.created_at
)
SELECT m.merchant_id, m.id AS event_id, m.type AS event_type, m.object_id, m.object_type,
  m.data, m.previous_attributes, m.request_id, m.idempotency_key,
  m.created_at AS event_created_at, w.id AS endpoint_id, w.url,
  w.secret, w.previous_secret, w.previous_secret_expires_at, w.failing_since,
  coalesce(a.livemode, false) AS livemode
FROM marked AS m LEFT JOIN merchants AS a ON a.merchant_id = m.merchant_id
LEFT JOIN webhook_endpoints AS w
  ON w.merchant_id = m.merchant_id AND w.status = 'enabled' AND w.created_at <= m.created_at
  AND ('*' = ANY(w.enabled_events) OR m.type = ANY(w.enabled_events))
  AND m.type <> ALL($2::text[])
"""
# $2: the operators' event types (OPERATOR_EVENT_TYPES), which no merchant's endpoint is sent.


async def fan_out(connection: AsyncConnection, limit: int) -> FannedOut:
    driver = await driver_of(connection)
    rows = await driver.fetch(_FAN_OUT, limit, sorted(OPERATOR_EVENT_TYPES))
    events = len({(row["merchant_id"], row["event_id"]) for row in rows})
    return FannedOut(events, [_claimed_row(row) for row in rows if row["endpoint_id"]])


def _claimed_row(row: Any) -> ClaimedRow:
    return ClaimedRow(
        merchant_id=row["merchant_id"],
        id=row.get("id", ""),
        event_id=row["event_id"],
        endpoint_id=row["endpoint_id"],
        attempt_count=row.get("attempt_count", 0),
        expires_at=row.get("expires_at"),
        url=row["url"],
        secrets=SealedSecrets(
            row["secret"], row["previous_secret"], row["previous_secret_expires_at"]
        ),
        endpoint_failing=row["failing_since"] is not None,
        event={
            "id": row["event_id"],
            "merchant_id": row["merchant_id"],
            "type": row["event_type"],
            "object_id": row["object_id"],
            "object_type": row["object_type"],
            "data": row["data"],
            "previous_attributes": row["previous_attributes"],
            "request_id": row["request_id"],
            "idempotency_key": row["idempotency_key"],
            "created_at": row["event_created_at"],
        },
        livemode=row["livemode"],
    )


@dataclass(frozen=True)
class ClaimedRow:
    merchant_id: str
    id: str
    event_id: str
    endpoint_id: str
    attempt_count: int
    expires_at: datetime | None
    url: str
    secrets: SealedSecrets
    endpoint_failing: bool
    """Whether the endpoint was in a run of failures when the delivery was claimed."""
    event: dict[str, Any]
    """The event row's columns: id, type, object_id, object_type, data, previous_attributes,
    request_id, idempotency_key, created_at."""
    livemode: bool
    """Its merchant's mode, which the body's objects carry (stripe_json.with_livemode)."""


# Due deliveries of enabled endpoints, at most $4 per endpoint and none of the endpoints in $5
# (those the claiming worker already has enough of in flight), leased until $3; returned with
# their endpoint's URL and secrets and their event. The scan walks the due index only: a
# disabled endpoint's deliveries are parked out of it (next_attempt_at null), a deleted one's
# are gone, so the few due rows of endpoints disabled meanwhile are all it skips. Every row
# chosen is returned: the merchant's livemode is read as the fan-out reads it (false when its
# merchant has no row on the shard), never by a join that would lock a chosen row, leave it
# out and keep it due (at the head of the queue, claimed by no one).
_CLAIM_DUE = f"""
WITH scanned AS (
  SELECT d.merchant_id, d.id, d.endpoint_id, d.next_attempt_at FROM webhook_deliveries AS d
  WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND NOT (d.endpoint_id = ANY($5::text[]))
  ORDER BY d.next_attempt_at LIMIT $2 * 4
), ranked AS (
  SELECT s.merchant_id, s.id, s.next_attempt_at,
    row_number() OVER (PARTITION BY s.merchant_id, s.endpoint_id ORDER BY s.next_attempt_at) AS rank
  FROM scanned AS s JOIN webhook_endpoints AS w
    ON w.merchant_id = s.merchant_id AND w.id = s.endpoint_id AND w.status = 'enabled'
), chosen AS (
  SELECT d.merchant_id, d.id FROM webhook_deliveries AS d
  JOIN ranked AS r ON r.merchant_id = d.merchant_id AND r.id = d.id AND r.rank <= $4
  WHERE d.status = 'pending' AND d.next_attempt_at <= $1
  ORDER BY r.next_attempt_at LIMIT $2
  FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries AS d SET {D.next_attempt_at.name} = $3
FROM chosen AS c, webhook_endpoints AS w, events AS v
WHERE d.merchant_id = c.merchant_id AND d.id = c.id
  AND w.merchant_id = d.merchant_id AND w.id = d.endpoint_id
  AND v.merchant_id = d.merchant_id AND v.id = d.event_id
RETURNING d.merchant_id, d.id, d.event_id, d.endpoint_id, d.attempt_count, d.expires_at,
  w.url, w.secret, w.previous_secret, w.previous_secret_expires_at, w.failing_since,
  v.type AS event_type, v.object_id, v.object_type, v.data, v.previous_attributes,
  v.request_id, v.idempotency_key, v.created_at AS event_created_at,
  coalesce((SELECT a.livemode FROM merchants AS a WHERE a.merchant_id = d.merchant_id), false)
    AS livemode
"""


async def claim_due(
    connection: AsyncConnection,
    now: datetime,
    lease_until: datetime,
    limit: int,
    per_endpoint_max: int,
    excluded_endpoint_ids: Sequence[str],
) -> list[ClaimedRow]:
    driver = await driver_of(connection)
    rows = await driver.fetch(
        _CLAIM_DUE, now, limit, lease_until, per_endpoint_max, list(excluded_endpoint_ids)
    )
    return [_claimed_row(row) for row in rows]


# An attempt's outcome: the delivery moves on only if no other worker recorded this attempt
# number first (a lease that ran out while the attempt was under way), and the attempt is
# logged only when the delivery moved. A retry of an endpoint disabled while the attempt was
# under way waits parked (no next attempt, out of the due queue: park_deliveries), as the
# endpoint's other pending deliveries do. One statement for the whole batch.
_RECORD = f"""
WITH recorded AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::timestamptz[],
    $6::timestamptz[], $7::int[], $8::int[], $9::text[], $10::text[])
  AS r(merchant_id, delivery_id, number, status, attempted_at, next_attempt_at,
    response_status, duration_ms, response_body, error)
), moved AS (
  UPDATE webhook_deliveries AS d SET
    {D.status.name} = r.status, {D.attempt_count.name} = r.number,
    {D.next_attempt_at.name} = CASE WHEN (
      SELECT w.status FROM webhook_endpoints AS w
      WHERE w.merchant_id = d.merchant_id AND w.id = d.endpoint_id
    ) = 'enabled' THEN r.next_attempt_at END,
    {D.last_attempt_at.name} = r.attempted_at,
    {D.last_response_status.name} = r.response_status, {D.last_error.name} = r.error
  FROM recorded AS r
  WHERE d.merchant_id = r.merchant_id AND d.id = r.delivery_id
    AND d.attempt_count = r.number - 1
    -- index conditions for the planner, which otherwise hash-joins a scan of the whole table
    AND d.merchant_id = ANY($11::text[]) AND d.id = ANY($2::text[])
  RETURNING d.merchant_id, d.id
)
INSERT INTO webhook_attempts ({
    _names(
        A.merchant_id,
        A.delivery_id,
        A.number,
        A.attempted_at,
        A.response_status,
        A.duration_ms,
        A.response_body,
        A.error,
    )
})
SELECT r.merchant_id, r.delivery_id, r.number, r.attempted_at, r.response_status,
  r.duration_ms, r.response_body, r.error
FROM recorded AS r JOIN moved AS m ON m.merchant_id = r.merchant_id AND m.id = r.delivery_id
ON CONFLICT DO NOTHING
"""


# An attempt's values in _RECORD's order.
_RECORDED = (
    "merchant_id",
    "delivery_id",
    "number",
    "status.value",
    "attempted_at",
    "next_attempt_at",
    "outcome.response_status",
    "outcome.duration_ms",
    "outcome.stored_body",
    "outcome.error",
)


def _arrays(items: Sequence[object], *paths: str) -> list[list[Any]]:
    """One array per attribute path (dotted for a nested one), in order: the parallel arrays an
    unnest() statement takes."""
    return [[attrgetter(path)(item) for item in items] for path in paths]


async def record_attempts(connection: AsyncConnection, results: Sequence[AttemptResult]) -> None:
    if not results:
        return
    driver = await driver_of(connection)
    await driver.execute(
        _RECORD,
        *_arrays(results, *_RECORDED),
        sorted({result.merchant_id for result in results}),
    )


# Endpoints whose run of failures starts or ends with this batch; locked in key order first, so
# that workers recording batches side by side cannot deadlock.
_FAILING_SINCE = f"""
WITH changes AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS c(merchant_id, id, since)
), locked AS (
  SELECT w.merchant_id, w.id FROM webhook_endpoints AS w
  JOIN changes AS c ON c.merchant_id = w.merchant_id AND c.id = w.id
  WHERE w.failing_since IS DISTINCT FROM c.since AND (c.since IS NULL OR w.failing_since IS NULL)
  ORDER BY w.merchant_id, w.id
  FOR UPDATE OF w
)
UPDATE webhook_endpoints AS w SET {E.failing_since.name} = c.since
FROM changes AS c, locked AS l
WHERE w.merchant_id = l.merchant_id AND w.id = l.id
  AND c.merchant_id = w.merchant_id AND c.id = w.id
"""


async def set_failing_since(
    connection: AsyncConnection, changes: Sequence[tuple[str, str, datetime | None]]
) -> None:
    """(merchant id, endpoint id, since): a failure starts a run (kept if one is going on), a
    success (since None) ends it."""
    if not changes:
        return
    driver = await driver_of(connection)
    ordered = sorted(changes)
    await driver.execute(
        _FAILING_SINCE,
        [change[0] for change in ordered],
        [change[1] for change in ordered],
        [change[2] for change in ordered],
    )


_DISABLE = f"""
WITH candidates AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::bool[]) AS c(merchant_id, id, gone)
), locked AS (
  SELECT w.merchant_id, w.id FROM webhook_endpoints AS w
  JOIN candidates AS c ON c.merchant_id = w.merchant_id AND c.id = w.id
  WHERE w.status = 'enabled' AND (c.gone OR w.failing_since <= $4)
  ORDER BY w.merchant_id, w.id
  FOR UPDATE OF w
)
UPDATE webhook_endpoints AS w SET {E.status.name} = 'disabled'
FROM locked AS l WHERE w.merchant_id = l.merchant_id AND w.id = l.id
RETURNING w.*
"""


async def disable_failing(
    connection: AsyncConnection,
    candidates: Sequence[tuple[str, str, bool]],
    failing_since_at_most: datetime,
) -> list[Endpoint]:
    """Disables the candidates (merchant id, endpoint id, answered 410) that answered 410 or
    have failed since `failing_since_at_most` or earlier; returns them."""
    if not candidates:
        return []
    driver = await driver_of(connection)
    ordered = sorted(candidates)
    rows = await driver.fetch(
        _DISABLE,
        [candidate[0] for candidate in ordered],
        [candidate[1] for candidate in ordered],
        [candidate[2] for candidate in ordered],
        failing_since_at_most,
    )
    return [decode_endpoint(row) for row in rows]
