"""`storage.raw.driver_of`: the asyncpg connection under a SQLAlchemy connection, read without a
greenlet while the connection is open, and through SQLAlchemy's reconnect once it was lost."""

from __future__ import annotations

import asyncio
import contextlib
import secrets

import pytest
from paycore.app import Platform
from paycore.ids import shard_account_id
from paycore.storage.raw import driver_of
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncConnection


async def _backend_pid(connection: AsyncConnection) -> int:
    return int(await (await driver_of(connection)).fetchval("select pg_backend_pid()"))


async def _lose(connection: AsyncConnection, platform: Platform) -> None:
    """Kills `connection`'s backend, then lets SQLAlchemy notice it (it invalidates)."""
    pid = await _backend_pid(connection)
    async with platform.shards.engines[0].connect() as killer:
        await killer.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
    with pytest.raises(exc.DBAPIError) as lost:
        await connection.execute(text("select 1"))
    assert lost.value.connection_invalidated
    assert connection.invalidated


async def test_the_driver_is_the_raw_connections_inside_the_transaction(
    platform: Platform,
) -> None:
    async with platform.shards.engines[0].connect() as connection:
        async with connection.begin():
            driver = await driver_of(connection)
            assert driver.is_in_transaction()
            await driver.execute("create temporary table raw_probe (n int) on commit drop")
            await driver.execute("insert into raw_probe values (1)")
            assert await (await driver_of(connection)).fetchval("select n from raw_probe") == 1
            pooled = await connection.get_raw_connection()
        assert not driver.is_in_transaction()
        assert pooled.driver_connection is driver


async def test_a_lost_connection_in_a_transaction_raises_until_rolled_back(
    platform: Platform,
) -> None:
    async with platform.shards.engines[0].connect() as connection:
        transaction = await connection.begin()
        lost = await driver_of(connection)
        await _lose(connection, platform)
        with pytest.raises(exc.PendingRollbackError):
            await driver_of(connection)
        await transaction.rollback()
        async with connection.begin():
            driver = await driver_of(connection)
            assert driver is not lost
            assert await driver.fetchval("select 1") == 1


async def test_a_lost_autocommit_connection_reconnects_once_rolled_back(
    platform: Platform,
) -> None:
    """SQLAlchemy begins its own (no-op) transaction around an autocommit connection's
    statements too, so its rollback comes first here as well."""
    async with platform.shards.engines[0].connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        lost = await driver_of(connection)
        await _lose(connection, platform)
        with pytest.raises(exc.PendingRollbackError):
            await driver_of(connection)
        await connection.rollback()
        driver = await driver_of(connection)
        assert driver is not lost
        assert await driver.fetchval("select 1") == 1


async def test_a_read_after_its_pooled_connection_was_lost_gets_a_live_one(
    platform: Platform,
) -> None:
    """The hot path's reads use the driver only (`driver_of` on an autocommit connection), so
    SQLAlchemy never sees a lost backend there: without the pool's check at checkout, the dead
    connection went back into the pool and failed every read that drew it, for up to an hour
    (pool_recycle). The merchant id only routes: any id of shard 0's logical shards."""
    merchant_id = _merchant_on_first_physical_shard(platform)
    async with platform.shards.read(merchant_id) as connection:
        driver = await driver_of(connection)
        pid = await driver.fetchval("select pg_backend_pid()")
    async with platform.shards.engines[0].connect() as killer:
        await killer.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
    for _ in range(50):  # the event loop reads the backend's goodbye and closes the socket
        if driver.is_closed():
            break
        await asyncio.sleep(0.02)
    assert driver.is_closed()
    for _ in range(3):  # every read draws a live connection, none of them the dead one
        async with platform.shards.read(merchant_id) as connection:
            read = await driver_of(connection)
            assert await read.fetchval("select 1") == 1
            assert read is not driver


def _merchant_on_first_physical_shard(platform: Platform) -> str:
    for logical in range(platform.shards.logical_shard_count):
        if platform.shards.physical_of_logical(logical) == 0:
            return shard_account_id(logical)
    raise AssertionError("no logical shard on physical shard 0")


async def test_a_transaction_cancelled_as_it_begins_leaves_no_connection_in_it(
    platform: Platform,
) -> None:
    """A call cancelled while `driver_of` sends its BEGIN (a client's deadline, a hang-up)
    left asyncpg's connection in a transaction SQLAlchemy did not know of: the pool took it back
    as clean, the next transaction on it became a savepoint inside that one, and its COMMIT
    (a RELEASE SAVEPOINT) committed nothing. CreateCustomer answered OK, replayed its answer,
    and the customer never existed. A connection still in a transaction is not handed out."""
    engine = platform.shards.engines[0]
    table = f"cancel_probe_{secrets.token_hex(4)}"
    async with engine.begin() as connection:
        await connection.execute(text(f"create table {table} (n int)"))

    async def begun() -> None:
        async with engine.begin() as connection:
            await (await driver_of(connection)).fetchval("select 1")

    try:
        for yields in range(40):
            task = asyncio.ensure_future(begun())
            for _ in range(yields):
                await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        written = range(3 * platform.settings.database_pool_size)
        for number in written:  # through every pooled connection
            async with engine.begin() as connection:
                await (await driver_of(connection)).execute(
                    f"insert into {table} values ($1)", number
                )
        async with engine.connect() as connection:
            rows = await connection.execute(text(f"select n from {table} order by n"))
            assert [row.n for row in rows] == list(written)
    finally:
        async with engine.begin() as connection:
            await connection.execute(text(f"drop table {table}"))
