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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
