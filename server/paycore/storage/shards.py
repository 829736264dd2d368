"""Routing from a merchant (or any id it owns) to its physical database: the one place it happens.

A merchant is assigned a logical shard when it is created; every id it owns carries that
shard (see paycore.ids). The settings map logical shards to physical databases (PAYCORE_SHARD_MAP
or logical mod physical count), which the first `paycore migrate` records in the `shard_map`
table on physical shard 0 (so that adding a database moves nothing); a logical shard moved since
(`paycore shards move`, paycore.storage.moves) has its new row there. Every process rereads it
every PAYCORE_SHARD_MAP_REFRESH_MS. Moving a logical shard is a data copy and
a map change, never an id rewrite.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from paycore.background import spawn
from paycore.config import Settings
from paycore.errors import ApiError, ConfigurationError, Reason
from paycore.ids import HOME_LOGICAL_SHARD, MalformedId, Prefix, remembered_logical_shard_of
from paycore.storage.failures import failure_reason
from paycore.storage.schema import shard_map
from sqlalchemy import event, exc, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool

log = logging.getLogger(__name__)

POOL_RETURN_GRACE_SECONDS = 5.0
"""How long closing the pools waits for connections still checked out (`Shards.dispose`): a
part of every process's shutdown, after the server's and the worker's own grace periods."""

# Limits on every session: no statement or forgotten transaction can hold locks for long.
SESSION_SETTINGS = {
    "application_name": "paycore",
    "statement_timeout": "30s",
    "idle_in_transaction_session_timeout": "60s",
}


# How long a write refused by a shard move's fence waits for the map to route elsewhere: the
# switch flips the map tens of milliseconds after it raised the fence.
SWITCH_WAIT_SECONDS = 2.0
SWITCH_POLL_SECONDS = 0.05


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


def _refuse_lost(dbapi_connection: Any, record: object, proxy: object) -> None:
    """The pool's check at checkout: a connection whose backend is gone (a restart, a
    terminated backend) is replaced, not handed out. The hot path's statements go to the
    driver directly (storage.raw), where SQLAlchemy never sees the loss, so without this the
    dead connection went back into the pool and failed every read that drew it until
    pool_recycle. No round trip: asyncpg knows its socket closed (DisconnectionError makes
    the pool discard it and check out another, as pool_pre_ping would after a ping).

    Nor one still in a transaction: a call cancelled while its BEGIN was under way (a client's
    deadline, storage.raw.driver_of) leaves asyncpg's connection in a transaction SQLAlchemy
    never tracked, so the pool's rollback on return skipped it; handed out, the next
    transaction on it would be a savepoint inside that one, whose COMMIT commits nothing.
    Discarded, its backend ends and rolls the leftover back."""
    driver = dbapi_connection.driver_connection
    if driver.is_closed():
        raise exc.DisconnectionError("the connection's backend is gone")
    if driver.is_in_transaction() or getattr(driver, "_top_xact", None) is not None:
        raise exc.DisconnectionError("the connection was left in a transaction")


@dataclass
class _HeldRead:
    """The connection `Shards.reads_held` holds, and whether a read is using it."""

    physical: int
    connection: AsyncConnection
    busy: bool = False
    held: bool = True
    """False once its block ended: a read then checks out its own (a task the block started
    and did not wait for may outlive it, and still see this), and the connection is back in
    the pool, or goes back when the read still using it ends."""

    async def release(self) -> None:
        """The block's end: the connection goes back to the pool now, unless a read still uses
        it (such a task's), which returns it when it ends: never while a statement of it runs,
        so the pool never hands out a connection somebody is still using."""
        self.held = False
        if not self.busy:
            await _closed(self.connection)


async def _ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.exec_driver_sql("SELECT 1")


async def _closed(connection: AsyncConnection) -> None:
    """Closes `connection` as the end of its `async with connect()` would: the close runs to
    its end even if the caller is cancelled meanwhile, so the pool always gets it back."""
    await connection.__aexit__(None, None, None)


_held_read: ContextVar[_HeldRead | None] = ContextVar("paycore_held_read", default=None)


def configured_map(settings: Settings) -> tuple[int, ...]:
    """The map the settings give: PAYCORE_SHARD_MAP, or logical mod the physical count (which
    changes when a database is added: `paycore migrate` keeps the first one, storage.migrate)."""
    physical_count = len(settings.database_urls)
    return settings.shard_map or tuple(
        logical % physical_count for logical in range(settings.logical_shard_count)
    )


class Shards:
    """Owns one engine (connection pool) per physical shard and routes to them."""

    def __init__(self, settings: Settings) -> None:
        if not settings.database_urls:
            raise ConfigurationError("PAYCORE_DATABASE_URLS is empty")
        self.logical_shard_count = settings.logical_shard_count
        self._configured_map = configured_map(settings)
        self._physical_of_logical = self._configured_map
        self._map_refresh_seconds = settings.shard_map_refresh_ms / 1000
        self._map_watch: asyncio.Task[None] | None = None
        self._map_unreadable: str | None = None
        """Why the last reread of the map failed; None when it succeeded."""
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
        for engine in self.engines:
            event.listen(engine.sync_engine, "checkout", _refuse_lost)
        # The same pools, in autocommit: a read is one round trip, not BEGIN; SELECT; ROLLBACK.
        self._readers = tuple(
            engine.execution_options(isolation_level="AUTOCOMMIT") for engine in self.engines
        )

    # -- the shard map ------------------------------------------------------------------------

    def physical_of_logical(self, logical_shard: int) -> int:
        return self._physical(logical_shard, f"logical shard {logical_shard}")

    def apply_moves(self, moved: dict[int, int]) -> None:
        """The configured map with the moved logical shards (logical -> physical) applied;
        one assignment, so a routing decision never sees half a map."""
        physical_count = len(self.engines)
        current = list(self._configured_map)
        for logical, physical in moved.items():
            if 0 <= logical < len(current) and 0 <= physical < physical_count:
                current[logical] = physical
        self._physical_of_logical = tuple(current)

    async def refresh_map(self) -> None:
        """Rereads the moved logical shards from physical shard 0 (the catalog)."""
        async with self._readers[0].connect() as connection:
            rows = (await connection.execute(select(shard_map))).all()
        self.apply_moves({row.logical_shard: row.physical_shard for row in rows})

    async def watch_map(self) -> None:
        """Reads the map now, then keeps rereading it in the background until `dispose`. A
        catalog that cannot be read now (shard 0 down at start) leaves the configured map
        until a later reread succeeds."""
        await self.reread_map()
        if self._map_watch is None:
            self._map_watch = spawn(self._watch(), name="shard map")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._map_refresh_seconds)
            await self.reread_map()

    async def reread_map(self) -> None:
        """One reread. A shard 0 that cannot be read keeps the map we have (the configured one
        at start), logged once when the rereads start failing, with the reason, and once when
        they succeed again: not a traceback every PAYCORE_SHARD_MAP_REFRESH_MS while it is
        down."""
        try:
            await self.refresh_map()
        except Exception as error:  # a blip of shard 0, or shard 0 down
            if self._map_unreadable is None:
                log.warning(
                    "could not read the shard map on physical shard 0 (%s); routing by the "
                    "map we have until it answers again",
                    failure_reason(error),
                )
            self._map_unreadable = failure_reason(error)
            return
        if self._map_unreadable is not None:
            log.info("the shard map reads again")
            self._map_unreadable = None

    # -- routing --------------------------------------------------------------------------

    def engine_for_logical(self, logical_shard: int) -> AsyncEngine:
        return self.engines[self._physical(logical_shard, f"logical shard {logical_shard}")]

    @property
    def home(self) -> AsyncEngine:
        """The home shard: where what is the platform's rather than a merchant's lives
        (paycore.ids.HOME_LOGICAL_SHARD)."""
        return self.engine_for_logical(HOME_LOGICAL_SHARD)

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
            logical_shard = remembered_logical_shard_of(merchant_id, Prefix.ACCOUNT)
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

    def autocommit(self, engine: AsyncEngine) -> AsyncEngine:
        """`engine` (one of `engines`) in autocommit: for a write that is one statement, or one
        `executemany` (asyncpg runs its rows as one implicit transaction, all or none), without
        the round trips of BEGIN and COMMIT."""
        return self._readers[self.engines.index(engine)]

    @asynccontextmanager
    async def transaction(self, merchant_id: str) -> AsyncIterator[AsyncConnection]:
        async with self.engine_for_merchant(merchant_id).begin() as connection:
            yield connection

    @asynccontextmanager
    async def read(self, merchant_id: str) -> AsyncIterator[AsyncConnection]:
        """A connection for single-statement reads (no transaction around them): inside
        `reads_held` of the same shard, the one it holds (when no other read uses it)."""
        physical = self._physical_of_merchant(merchant_id)
        held = _held_read.get()
        if held is not None and held.held and held.physical == physical and not held.busy:
            held.busy = True
            try:
                yield held.connection
            finally:
                held.busy = False
                if not held.held:  # the block ended meanwhile: this read was the last user
                    await _closed(held.connection)
            return
        async with self._readers[physical].connect() as connection:
            yield connection

    @asynccontextmanager
    async def reads_held(self, merchant_id: str) -> AsyncIterator[None]:
        """While the block runs (in this task and those it starts), `read` of the merchant's
        shard uses one connection, checked out once: a request's few reads before its
        transaction (issue 17: each checkout of SQLAlchemy's pool costs more client CPU than
        the read). A read while another uses it checks out its own, as outside, and so does
        one after the block (a task it started that outlived it: the connection is back in
        the pool). Tasks that outlive their call are spawned without it (paycore.background)."""
        outer = _held_read.get()
        if outer is not None and outer.held:
            yield
            return
        physical = self._physical_of_merchant(merchant_id)
        held = _HeldRead(physical, await self._readers[physical].connect())
        token = _held_read.set(held)
        try:
            yield
        finally:
            _held_read.reset(token)
            await held.release()

    @asynccontextmanager
    async def read_logical(self, logical_shard: int) -> AsyncIterator[AsyncConnection]:
        physical = self._physical(logical_shard, f"logical shard {logical_shard}")
        async with self._readers[physical].connect() as connection:
            yield connection

    async def any_reachable(self, timeout_seconds: float = 2.0) -> bool:
        """Whether some physical shard answers `SELECT 1` within the timeout: what health
        follows. One shard away fails only its merchants' calls (UNAVAILABLE, with a retry
        delay); a server reporting NOT_SERVING for it would be taken out of service by its
        readiness probe, and every serve pod with it, stopping the other shards' merchants."""
        pings = [spawn(_ping(engine), name="shard ping") for engine in self._readers]
        try:
            for answered in asyncio.as_completed(pings, timeout=timeout_seconds):
                with contextlib.suppress(Exception):
                    await answered
                    return True
        except TimeoutError:
            pass
        finally:
            for ping in pings:
                ping.cancel()
            await asyncio.gather(*pings, return_exceptions=True)
        return False

    async def dispose(self, grace_seconds: float = POOL_RETURN_GRACE_SECONDS) -> None:
        """Closes the pools once every connection is back in them, waiting up to
        `grace_seconds` for those still checked out: a recording a group commit finishes after
        its caller left, a cancelled call's rollback, the shard map's watcher. A connection
        checked in after `engine.dispose()` goes back to the pool it came from, which nobody
        closes any more: its socket stays open until the garbage collector finds it."""
        if self._map_watch is not None:
            self._map_watch.cancel()
            await asyncio.wait([self._map_watch])  # never raises what the watcher raised
            self._map_watch = None
        try:
            async with asyncio.timeout(grace_seconds):
                while self._checked_out():  # noqa: ASYNC110 (a pool has no checkin to await)
                    await asyncio.sleep(0.01)
        except TimeoutError:
            log.warning("closing the pools with %d connections still in use", self._checked_out())
        for engine in self.engines:
            await engine.dispose()

    def _checked_out(self) -> int:
        return sum(_in_use(engine) for engine in self.engines)


def _in_use(engine: AsyncEngine) -> int:
    """The connections of `engine`'s pool checked out now."""
    pool = engine.pool
    return pool.checkedout() if isinstance(pool, QueuePool) else 0


@dataclass(frozen=True)
class MerchantRoute:
    """Where a merchant's rows are, asked at each use: a flow that outlives a move of the
    merchant's logical shard (a phased payment across its PSP call) finds them on the new
    database."""

    shards: Shards
    merchant_id: str

    def engine(self) -> AsyncEngine:
        """By this process's shard map: no round trip."""
        return self.shards.engine_for_merchant(self.merchant_id)

    async def engine_after_refusal(self, refused: AsyncEngine) -> AsyncEngine:
        """Once `refused` refused a write because the logical shard is moving (SQLSTATE PCM01):
        the map, reread from the catalog until it routes elsewhere (the switch flips it tens
        of milliseconds after raising the fence; at most SWITCH_WAIT_SECONDS, then wherever
        it routes)."""
        for _ in range(int(SWITCH_WAIT_SECONDS / SWITCH_POLL_SECONDS)):
            engine = self.engine()
            if engine is not refused:
                return engine
            await asyncio.sleep(SWITCH_POLL_SECONDS)
            await self.shards.refresh_map()
        return self.engine()
