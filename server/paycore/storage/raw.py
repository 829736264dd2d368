"""The asyncpg connection under a SQLAlchemy AsyncConnection, for the hot paths.

One statement through SQLAlchemy Core costs about 165 us of client CPU (building the statement,
its cache key, an execution context and a result), through asyncpg about 22 us
(scripts/sql_overhead.py). The hot paths (the ledger's posting, a payment's phases, the
idempotency-key store) therefore speak to asyncpg directly, inside the transaction SQLAlchemy
manages, with statements as SQL text: asyncpg prepares each text once per connection and reuses
it. The types follow SQLAlchemy's asyncpg dialect: json and jsonb parameters are JSON text
(`jsonb` below), and such columns read back decoded.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from paycore.invariants import invariant
from paycore.storage.statements import with_parts
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import PoolProxiedConnection

Driver = Any  # asyncpg.Connection: asyncpg ships no type information
HolderT = TypeVar("HolderT")


async def driver_of(connection: AsyncConnection) -> Driver:
    """The asyncpg connection under `connection`, inside its transaction: SQLAlchemy begins
    lazily, at its first statement, so the BEGIN is issued here when none ran yet (not for an
    autocommit connection, which has none)."""
    raw = _open_pooled(connection) or await connection.get_raw_connection()
    adapted: Any = raw.dbapi_connection
    if getattr(adapted, "_transaction", None) is None and hasattr(adapted, "_start_transaction"):
        await adapted._start_transaction()
    return raw.driver_connection


def _open_pooled(connection: AsyncConnection) -> PoolProxiedConnection | None:
    """The pooled connection `get_raw_connection` would return, read without its greenlet
    (about 0.7 against 7-8 us; about 12 statements a payment come here) when the sync
    connection holds one: `Connection.connection` then returns it as it is, with no IO. None
    when it was invalidated (a lost connection), closed or never started: the await then
    reconnects, or raises as SQLAlchemy does (inside a transaction, until it is rolled back)."""
    sync = connection.sync_connection
    if sync is None or sync.closed or sync.invalidated:
        return None
    return sync.connection


@asynccontextmanager
async def savepoint(connection: AsyncConnection) -> AsyncIterator[Driver]:
    """A savepoint inside `connection`'s transaction, in asyncpg (SQLAlchemy's begin_nested
    costs several times its client CPU): released when the block ends, rolled back to when it
    raises."""
    driver = await driver_of(connection)
    await driver.execute("SAVEPOINT paycore_raw")
    try:
        yield driver
    except BaseException:
        await driver.execute("ROLLBACK TO SAVEPOINT paycore_raw")
        raise
    await driver.execute("RELEASE SAVEPOINT paycore_raw")


class Later:
    """Writes held back until `flush`: each statement's rows in one pipelined `executemany`
    (one round trip however many), in the order each statement was first held back. For a
    group commit (paycore.executor.grouping), whose recordings each write a few rows nothing
    in the transaction reads again (the request's answer, an intent's update with its event)."""

    def __init__(self) -> None:
        self._writes: dict[str, list[tuple[Any, ...]]] = {}

    def hold(self, statement: str, arguments: tuple[Any, ...]) -> None:
        self._writes.setdefault(statement, []).append(arguments)

    async def flush(self, connection: AsyncConnection) -> None:
        writes, self._writes = self._writes, {}
        if not writes:
            return
        driver = await driver_of(connection)
        for statement, rows in writes.items():
            await driver.executemany(statement, rows)


_later: ContextVar[Later | None] = ContextVar("paycore_later", default=None)


@contextmanager
def _set_while(variable: ContextVar[HolderT | None], holder: HolderT) -> Iterator[HolderT]:
    token = variable.set(holder)
    try:
        yield holder
    finally:
        variable.reset(token)


def writes_held(later: Later) -> AbstractContextManager[Later]:
    """While the block runs (in this task), `write_later` holds its writes in `later`."""
    return _set_while(_later, later)


async def write_later(connection: AsyncConnection, statement: str, *arguments: Any) -> bool:
    """Writes `statement` now, or, inside `writes_held`, holds it until that batch's flush
    (before the transaction commits); True when held. Only for a write whose result nothing
    needs and whose rows nothing in the transaction reads before the flush."""
    later = _later.get()
    if later is not None:
        later.hold(statement, arguments)
        return True
    driver = await driver_of(connection)
    await driver.execute(statement, *arguments)
    return False


@dataclass(frozen=True)
class Parts:
    """A write as the parts of a WITH, its parameters $1 to $(next - 1): run alone as
    `WITH parts SELECT 1`, or joined with the parts of a write that follows it (`Joined`)."""

    parts: tuple[str, ...]
    next: int

    @property
    def sql(self) -> str:
        return with_parts(self.parts, "SELECT 1")


class Joined:
    """A write held back to run in one statement with the next write (one round trip, not
    two): a phased request's first phase (paycore.payment.charging) ends in one statement,
    and the idempotency store's insert of the key that records it joins that statement
    (paycore.storage.idempotency). One write at most: a second would run before the first."""

    def __init__(self) -> None:
        self._held: tuple[Parts, tuple[Any, ...]] | None = None

    def hold(self, write: Parts, arguments: tuple[Any, ...]) -> None:
        invariant(self._held is None, "a joined write is already held")
        self._held = (write, arguments)

    def take(self) -> tuple[Parts, tuple[Any, ...]] | None:
        held, self._held = self._held, None
        return held


_joined: ContextVar[Joined | None] = ContextVar("paycore_joined", default=None)


def writes_joined(joined: Joined) -> AbstractContextManager[Joined]:
    """While the block runs (in this task), `write_joined` holds its write in `joined`; the
    caller runs it with its own next write (`Joined.take`) in the same transaction."""
    return _set_while(_joined, joined)


async def write_joined(connection: AsyncConnection, write: Parts, *arguments: Any) -> None:
    """Writes `write` now, or, inside `writes_joined`, holds it to run with the next write.
    Only for a block's last statement, whose rows nothing reads before that next write."""
    joined = _joined.get()
    if joined is not None:
        joined.hold(write, arguments)
        return
    driver = await driver_of(connection)
    await driver.execute(write.sql, *arguments)


def jsonb(value: object) -> str | None:
    """A json/jsonb parameter as the dialect's codec takes it (None stays SQL NULL)."""
    return None if value is None else json.dumps(value)


class Columns:
    """An asyncpg record read by attribute, as the row converters written for SQLAlchemy rows
    (`row.name`) read it, or by name (as a `storage.rows.Decoder` reads it)."""

    __slots__ = ("_record",)

    def __init__(self, record: Any) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        try:
            return self._record[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._record[name]
