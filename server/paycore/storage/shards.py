"""Routing from a merchant (or any id it owns) to its physical database: the one place it happens.

A merchant is assigned a logical shard when it is created; every id it owns carries that
shard (see paycore.ids); the settings map logical shards to physical databases, so moving a
logical shard is a data copy and a configuration change, never an id rewrite.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from paycore.config import Settings
from paycore.errors import ApiError, ConfigurationError, Reason
from paycore.ids import MalformedId, Prefix, logical_shard_of
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

# Limits on every session: no statement or forgotten transaction can hold locks for long.
SESSION_SETTINGS = {
    "application_name": "paycore",
    "statement_timeout": "30s",
    "idle_in_transaction_session_timeout": "60s",
}


def connect_arguments(settings: Settings) -> dict[str, object]:
    """Every pool's timeouts (issue 23, item 6): a PostgreSQL that is down or frozen fails a
    call within seconds (UNAVAILABLE, paycore.storage.failures) instead of hanging it.
    connect: reaching the server; command: any one statement's answer, client side, for a
    server that stopped answering; lock_timeout: waiting for a row another transaction holds."""
    return {
        "timeout": settings.database_connect_timeout_ms / 1000,
        "command_timeout": settings.database_command_timeout_ms / 1000,
        "server_settings": {
            **SESSION_SETTINGS,
            "lock_timeout": f"{settings.database_lock_timeout_ms}ms",
        },
    }


def asyncpg_url(url: str) -> str:
    """postgresql://... (libpq style, what operators write) -> SQLAlchemy's asyncpg URL."""
    scheme, separator, rest = url.partition("://")
    if not separator or scheme not in {"postgres", "postgresql", "postgresql+asyncpg"}:
        raise ConfigurationError(f"not a PostgreSQL URL: {scheme}://...")
    return f"postgresql+asyncpg://{rest}"


class Shards:
    """Owns one engine (connection pool) per physical shard and routes to them."""

    def __init__(self, settings: Settings) -> None:
        if not settings.database_urls:
            raise ConfigurationError("PAYCORE_DATABASE_URLS is empty")
        self.logical_shard_count = settings.logical_shard_count
        physical_count = len(settings.database_urls)
        self._physical_of_logical = settings.shard_map or tuple(
            logical % physical_count for logical in range(settings.logical_shard_count)
        )
        self.engines: tuple[AsyncEngine, ...] = tuple(
            create_async_engine(
                asyncpg_url(url),
                pool_size=settings.database_pool_size,
                max_overflow=settings.database_pool_size,
                pool_timeout=settings.database_connect_timeout_ms / 1000,
                pool_recycle=3600,
                pool_pre_ping=False,
                connect_args=connect_arguments(settings),
            )
            for url in settings.database_urls
        )
        # The same pools, in autocommit: a read is one round trip, not BEGIN; SELECT; ROLLBACK.
        self._readers = tuple(
            engine.execution_options(isolation_level="AUTOCOMMIT") for engine in self.engines
        )

    def engine_for_logical(self, logical_shard: int) -> AsyncEngine:
        return self.engines[self._physical(logical_shard, f"logical shard {logical_shard}")]

    def _physical(self, logical_shard: int, named_by: str) -> int:
        """The physical shard of a logical one an id names; NOT_FOUND for a shard beyond the
        map (an id made up by the caller: nothing with it can exist), never an IndexError."""
        if not 0 <= logical_shard < self.logical_shard_count:
            raise ApiError(
                Reason.SHARD_UNKNOWN,
                id=named_by,
                shard=logical_shard,
                count=self.logical_shard_count,
            )
        return self._physical_of_logical[logical_shard]

    def engine_for_merchant(self, merchant_id: str) -> AsyncEngine:
        return self.engines[self._physical_of_merchant(merchant_id)]

    def _physical_of_merchant(self, merchant_id: str) -> int:
        try:
            logical_shard = logical_shard_of(merchant_id, Prefix.ACCOUNT)
        except MalformedId:
            raise ValueError(f"cannot route {merchant_id!r}: not an account id") from None
        return self._physical(logical_shard, merchant_id)

    def logical_shard_for_new_merchant(self, seed: str | None = None) -> int:
        """Random placement; with a seed (an idempotency key) the same seed lands on the same
        shard, so a replayed CreateMerchant finds its first answer there."""
        if seed is None:
            return secrets.randbelow(self.logical_shard_count)
        digest = hashlib.sha256(seed.encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.logical_shard_count

    @asynccontextmanager
    async def transaction(self, merchant_id: str) -> AsyncIterator[AsyncConnection]:
        async with self.engine_for_merchant(merchant_id).begin() as connection:
            yield connection

    @asynccontextmanager
    async def read(self, merchant_id: str) -> AsyncIterator[AsyncConnection]:
        """A connection for single-statement reads (no transaction around them)."""
        async with self._readers[self._physical_of_merchant(merchant_id)].connect() as connection:
            yield connection

    @asynccontextmanager
    async def read_logical(self, logical_shard: int) -> AsyncIterator[AsyncConnection]:
        physical = self._physical(logical_shard, f"logical shard {logical_shard}")
        async with self._readers[physical].connect() as connection:
            yield connection

    async def reachable(self, timeout_seconds: float = 2.0) -> bool:
        """Whether every physical shard answers `SELECT 1` within the timeout."""

        async def ping(engine: AsyncEngine) -> None:
            async with engine.connect() as connection:
                await connection.exec_driver_sql("SELECT 1")

        try:
            async with asyncio.timeout(timeout_seconds):
                await asyncio.gather(*(ping(engine) for engine in self._readers))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        for engine in self.engines:
            await engine.dispose()
