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
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

Driver = Any  # asyncpg.Connection: asyncpg ships no type information


async def driver_of(connection: AsyncConnection) -> Driver:
    """The asyncpg connection under `connection`, inside its transaction: SQLAlchemy begins
    lazily, at its first statement, so the BEGIN is issued here when none ran yet (not for an
    autocommit connection, which has none)."""
    raw = await connection.get_raw_connection()
    adapted: Any = raw.dbapi_connection
    if getattr(adapted, "_transaction", None) is None and hasattr(adapted, "_start_transaction"):
        await adapted._start_transaction()
    return raw.driver_connection


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
def writes_held(later: Later) -> Iterator[Later]:
    """While the block runs (in this task), `write_later` holds its writes in `later`."""
    token = _later.set(later)
    try:
        yield later
    finally:
        _later.reset(token)


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
