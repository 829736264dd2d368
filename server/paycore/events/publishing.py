"""The outbox publisher: hands committed events on, each at least once.

One pass on one shard, in one short transaction: claim up to `limit` unpublished events in id
order with `FOR UPDATE SKIP LOCKED` (so publishers in other tasks and processes take other
rows), hand them to the publisher, mark them published, commit. A publisher that fails rolls
the pass back: the events stay unpublished and the next pass takes them again.

The hand-over happens inside the claiming transaction, the one place paycore talks to another
server with a transaction open (docs/design.md otherwise forbids it): the row locks are what keep a
second publisher off the batch, and the Redis client's 1 s timeouts bound how long they last.

At least once, never lost: a crash (or a lost connection) after the publisher accepted the
events but before the commit leaves them unpublished, so they are published again. Every copy
carries the same event id; consumers dedupe on it (as webhook receivers do, docs/design.md).
Order: within one publisher, events go out in id (creation) order; publishers running side by
side may interleave, so consumers must not rely on a global order (nor does Stripe's).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol

from paycore.events.models import Event
from paycore.events.repository import claim_unpublished, mark_published
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

PUBLISH_BATCH_MAX = 500
# Entries the stream keeps (approximately, XADD MAXLEN ~): consumers are expected to keep up;
# the events table stays the record.
STREAM_LENGTH_MAX = 100_000


class EventPublisher(Protocol):
    async def publish(self, events: Sequence[Event]) -> None:
        """Hands the events on; returns only once every one of them is accepted."""


class RedisStreamPublisher:
    """One `XADD <prefix>events` entry per event, pipelined in one round trip. Fields:
    event_id (the dedupe key), type, merchant_id, object_id, object_type, created, data."""

    def __init__(self, redis: Redis, key_prefix: str, length_max: int = STREAM_LENGTH_MAX) -> None:
        self._redis = redis
        self.stream = f"{key_prefix}events"
        self._length_max = length_max

    async def publish(self, events: Sequence[Event]) -> None:
        async with self._redis.pipeline(transaction=False) as pipeline:
            for event in events:
                pipeline.xadd(
                    self.stream,
                    {
                        "event_id": event.id,
                        "type": event.type,
                        "merchant_id": event.merchant_id,
                        "object_id": event.object_id or "",
                        "object_type": event.object_type,
                        "created": event.created,
                        "data": json.dumps(event.data, separators=(",", ":")),
                    },
                    maxlen=self._length_max,
                    approximate=True,
                )
            await pipeline.execute()


async def publish_pending(
    engine: AsyncEngine, publisher: EventPublisher, limit: int = PUBLISH_BATCH_MAX
) -> int:
    """One pass on one shard; returns how many events it published."""
    async with engine.begin() as connection:
        claimed = await claim_unpublished(connection, limit)
        if not claimed:
            return 0
        await publisher.publish(claimed)
        await mark_published(connection, claimed)
    return len(claimed)
