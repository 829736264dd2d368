"""Sharded PostgreSQL: routing, schema, migrations and the idempotency-key store."""

from paycore.storage.idempotency import IdempotencyStore, StoredResponse
from paycore.storage.shards import Shards, asyncpg_url

__all__ = ["IdempotencyStore", "Shards", "StoredResponse", "asyncpg_url"]
