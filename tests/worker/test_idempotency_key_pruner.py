"""The pruner forgets idempotency keys past their retention, never younger ones, and never a
key whose request is running."""

from __future__ import annotations

import secrets
from datetime import timedelta

from paycore.app import Platform
from paycore.worker.jobs import IdempotencyKeyPruner
from sqlalchemy import text

from tests.worker.support import store_key, stored_keys

DAY_SECONDS = 24 * 3600


async def test_only_keys_past_the_retention_are_pruned(platform: Platform) -> None:
    engine = platform.shards.engines[0]
    owner = f"acct_test_{secrets.token_hex(4)}"
    await store_key(engine, owner, "old-1", timedelta(hours=25))
    await store_key(engine, owner, "old-2", timedelta(days=3))
    await store_key(engine, owner, "young", timedelta(hours=23))
    pruner = IdempotencyKeyPruner(retention_seconds=DAY_SECONDS, batch_size=1)

    while await pruner.run(engine):  # bounded batches: one key per run here
        pass
    assert await stored_keys(engine, owner) == {"young"}


async def test_a_key_whose_request_is_running_is_not_pruned(platform: Platform) -> None:
    engine = platform.shards.engines[1]
    owner = f"acct_test_{secrets.token_hex(4)}"
    await store_key(engine, owner, "running", timedelta(hours=30))
    await store_key(engine, owner, "done", timedelta(hours=30))
    pruner = IdempotencyKeyPruner(retention_seconds=DAY_SECONDS)

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
