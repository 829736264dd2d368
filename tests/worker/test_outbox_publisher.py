"""The outbox publisher: each committed event reaches the Redis Stream, marked once published;
publishers side by side never take the same row; a failed hand-over publishes nothing."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence

import pytest
from paycore.app import Platform
from paycore.events.models import Event
from paycore.events.publishing import RedisStreamPublisher, publish_pending
from paycore.storage.schema import events
from paycore.worker.jobs import outbox_publisher
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.events.support import record, stream_entries
from tests.helpers import MerchantFixture


class Recording:
    """A publisher that remembers what it was given, taking `seconds` to accept it."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.published: list[str] = []
        self.batches: list[list[str]] = []
        self._seconds = seconds

    async def publish(self, events: Sequence[Event]) -> None:
        await asyncio.sleep(self._seconds)
        self.batches.append([event.id for event in events])
        self.published += self.batches[-1]


class Failing:
    async def publish(self, events: Sequence[Event]) -> None:
        raise ConnectionError("the stream is down")


async def _drain(engine: AsyncEngine) -> None:
    """Publishes what earlier tests left, so that a test sees its own events first."""
    while await publish_pending(engine, Recording()):
        pass


async def _published_at(platform: Platform, merchant_id: str) -> dict[str, bool]:
    async with platform.shards.read(merchant_id) as connection:
        rows = await connection.execute(
            select(events.c.id, events.c.published_at).where(events.c.merchant_id == merchant_id)
        )
        return {row.id: row.published_at is not None for row in rows}


async def test_each_event_reaches_the_stream_once_and_is_marked(
    platform: Platform, merchant: MerchantFixture, redis: Redis
) -> None:
    merchant_id = merchant.merchant.id
    engine = platform.shards.engine_for_merchant(merchant_id)
    await _drain(engine)
    recorded = [await record(platform, merchant_id, amount=100 + index) for index in range(3)]
    assert await _published_at(platform, merchant_id) == dict.fromkeys(recorded, False)

    prefix = f"{platform.settings.redis_key_prefix}{secrets.token_hex(4)}:"
    job = outbox_publisher(RedisStreamPublisher(redis, prefix))
    assert await job.run(engine) == 3
    assert await job.run(engine) == 0  # nothing is published twice

    entries = await stream_entries(redis, f"{prefix}events")
    assert [entry["event_id"] for entry in entries] == recorded
    assert entries[0]["type"] == "payment_intent.created"
    assert entries[0]["merchant_id"] == merchant_id
    assert '"amount":"100"' in entries[0]["data"]
    assert await _published_at(platform, merchant_id) == dict.fromkeys(recorded, True)
    await redis.delete(f"{prefix}events")


async def test_two_publishers_side_by_side_never_take_the_same_row(
    platform: Platform, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    engine = platform.shards.engine_for_merchant(merchant_id)
    await _drain(engine)
    recorded = [await record(platform, merchant_id) for _ in range(30)]
    first, second = Recording(seconds=0.2), Recording(seconds=0.2)

    # One pass each, at the same time: the second claims while the first holds its rows.
    counts = await asyncio.gather(
        publish_pending(engine, first, limit=10), publish_pending(engine, second, limit=10)
    )
    assert list(counts) == [10, 10]
    assert set(first.published).isdisjoint(second.published)
    assert sorted(first.published + second.published) == recorded[:20]

    # Then until done, still side by side.
    while any(
        await asyncio.gather(
            publish_pending(engine, first, limit=4), publish_pending(engine, second, limit=4)
        )
    ):
        pass
    everything = first.published + second.published
    assert sorted(everything) == recorded
    assert len(everything) == len(set(everything))
    # Within a publisher, events go in id order.
    for batch in first.batches + second.batches:
        assert batch == sorted(batch)


async def test_a_failing_publisher_leaves_the_events_for_the_next_pass(
    platform: Platform, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    engine = platform.shards.engine_for_merchant(merchant_id)
    await _drain(engine)
    recorded = [await record(platform, merchant_id) for _ in range(2)]
    with pytest.raises(ConnectionError):
        await publish_pending(engine, Failing())
    assert await _published_at(platform, merchant_id) == dict.fromkeys(recorded, False)

    retry = Recording()
    assert await publish_pending(engine, retry) == 2
    assert retry.published == recorded
    assert await _published_at(platform, merchant_id) == dict.fromkeys(recorded, True)
