"""Forgetting idempotency keys after their retention (Stripe keeps them 24 hours): a replay
after that runs the request again, as a new one.

A key whose request is still running is never pruned. While a request runs, the idempotency
store (paycore.storage.idempotency) holds the key's advisory lock until its transaction ends;
the pruner deletes only rows whose advisory lock it can take itself, so it skips those keys
(and, for the few milliseconds it holds the lock, a request with that key answers
IDEMPOTENCY_KEY_IN_USE, which a client retries). The lock is the one the store takes:
hashtextextended('<owner> <key>', 0).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

PRUNE_BATCH_MAX = 500

# due: the oldest keys past the retention that no other pruner holds (SKIP LOCKED);
# free: those whose request is not running (their advisory lock is free, now ours till commit).
_PRUNE = text(
    """
    WITH due AS (
        SELECT merchant_id, key FROM idempotency_keys
        WHERE created_at < now() - make_interval(secs => :retention_seconds)
        ORDER BY created_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ), free AS MATERIALIZED (
        SELECT merchant_id, key FROM due
        WHERE pg_try_advisory_xact_lock(hashtextextended(merchant_id || ' ' || key, 0))
    )
    DELETE FROM idempotency_keys AS stored USING free
    WHERE stored.merchant_id = free.merchant_id AND stored.key = free.key
    """
)


async def prune_idempotency_keys(
    engine: AsyncEngine, retention_seconds: float, limit: int = PRUNE_BATCH_MAX
) -> int:
    """Deletes up to `limit` keys older than the retention on this shard; returns how many."""
    async with engine.begin() as connection:
        result = await connection.execute(
            _PRUNE, {"retention_seconds": retention_seconds, "limit": limit}
        )
    return int(result.rowcount)
