"""The pruner forgets idempotency keys past their retention, never younger ones, and never a
key whose request is running."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

from paycore.app import Platform
from paycore.worker.jobs import idempotency_key_pruner
from sqlalchemy import text

from tests.worker.support import store_key, stored_keys

DAY_SECONDS = 24 * 3600


async def test_only_keys_past_the_retention_are_pruned(platform: Platform) -> None:
    engine = platform.shards.engines[0]
    owner = f"acct_test_{secrets.token_hex(4)}"
    await store_key(engine, owner, "old-1", timedelta(hours=25))
    await store_key(engine, owner, "old-2", timedelta(days=3))
    await store_key(engine, owner, "young", timedelta(hours=23))
    pruner = idempotency_key_pruner(retention_seconds=DAY_SECONDS, batch_size=1)

    while await pruner.run(engine):  # bounded batches: one key per run here
        pass
    assert await stored_keys(engine, owner) == {"young"}


async def test_a_key_whose_request_is_running_is_not_pruned(platform: Platform) -> None:
    engine = platform.shards.engines[1]
    owner = f"acct_test_{secrets.token_hex(4)}"
    await store_key(engine, owner, "running", timedelta(hours=30))
    await store_key(engine, owner, "done", timedelta(hours=30))
    pruner = idempotency_key_pruner(retention_seconds=DAY_SECONDS)

    # What IdempotencyStore holds while a request with the key runs: the key's advisory lock
    # (paycore.storage.idempotency, `_claim`), until its transaction ends.
    async with engine.begin() as request:
        await request.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:lock, 0))"),
            {"lock": f"{owner} running"},
        )
        while await pruner.run(engine):
            pass
        assert await stored_keys(engine, owner) == {"running"}
    while await pruner.run(engine):
        pass
    assert await stored_keys(engine, owner) == set()


async def test_two_pruners_side_by_side_delete_each_key_once(platform: Platform) -> None:
    engine = platform.shards.engines[0]
    owner = f"acct_test_{secrets.token_hex(4)}"
    for index in range(40):
        await store_key(engine, owner, f"old-{index}", timedelta(hours=48, seconds=index))
    first = idempotency_key_pruner(retention_seconds=DAY_SECONDS, batch_size=15)
    second = idempotency_key_pruner(retention_seconds=DAY_SECONDS, batch_size=15)

    async with engine.connect() as connection:
        due = await connection.scalar(
            text(
                "SELECT count(*) FROM idempotency_keys WHERE created_at < now() - interval '1 day'"
            )
        )
    assert due is not None and due >= 40

    pruned: list[int] = []
    while counts := [n for n in await asyncio.gather(first.run(engine), second.run(engine)) if n]:
        pruned += counts
    # Side by side they neither fail nor wait on each other's batch, each takes full batches
    # while keys remain, and together they remove exactly what was due.
    assert pruned[:2] == [15, 15]
    assert sum(pruned) == due
    assert await stored_keys(engine, owner) == set()
