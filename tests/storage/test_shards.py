"""Ids route to their shard without a lookup; a merchant's rows live on its shard only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio
from paycore.app import Platform
from paycore.client import Paycore, idempotency_key
from paycore.config import Settings
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.storage import Shards
from paycore.storage.raw import driver_of
from paycore.storage.schema import merchants, seller_accounts
from paycore.v1 import account_pb2
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.helpers import MerchantFixture


def test_logical_shards_spread_over_physical_shards() -> None:
    shards = Shards(Settings(database_urls=("postgresql://h/a", "postgresql://h/b")))
    engines = [shards.engine_for_logical(logical) for logical in range(shards.logical_shard_count)]
    assert engines.count(shards.engines[0]) == engines.count(shards.engines[1]) == 32
    merchant_id = new_id(Prefix.ACCOUNT, 3)
    assert shards.engine_for_merchant(merchant_id) is shards.engines[1]


def test_shard_map_moves_a_logical_shard() -> None:
    moved = Settings(
        database_urls=("postgresql://h/a", "postgresql://h/b"),
        logical_shard_count=4,
        shard_map=(0, 0, 0, 1),
    )
    shards = Shards(moved)
    assert shards.engine_for_merchant(new_id(Prefix.ACCOUNT, 2)) is shards.engines[0]
    assert shards.engine_for_merchant(new_id(Prefix.ACCOUNT, 3)) is shards.engines[1]


def test_idempotency_seed_places_a_new_merchant_deterministically() -> None:
    shards = Shards(Settings(database_urls=("postgresql://h/a",)))
    assert shards.logical_shard_for_new_merchant("k1") == shards.logical_shard_for_new_merchant(
        "k1"
    )
    placements = {shards.logical_shard_for_new_merchant(f"k{n}") for n in range(500)}
    assert len(placements) > 50


async def test_merchant_rows_are_on_the_physical_shard_their_id_names(
    platform: Platform, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    seller = await merchant.client.accounts.CreateSellerAccount(
        account_pb2.CreateSellerAccountRequest(
            email="s@shop.test", country="US", default_currency="usd"
        )
    )
    assert logical_shard_of(seller.id, Prefix.ACCOUNT) == logical_shard_of(
        merchant_id, Prefix.ACCOUNT
    )
    home = platform.shards.engine_for_merchant(merchant_id)
    found = {}
    for engine in platform.shards.engines:
        async with engine.connect() as connection:
            merchant_rows = (
                await connection.execute(
                    select(merchants).where(merchants.c.merchant_id == merchant_id)
                )
            ).all()
            seller_rows = (
                await connection.execute(
                    select(seller_accounts).where(seller_accounts.c.id == seller.id)
                )
            ).all()
        found[engine] = (len(merchant_rows), len(seller_rows))
    assert found[home] == (1, 1)
    assert all(counts == (0, 0) for engine, counts in found.items() if engine is not home)


async def test_new_merchants_land_on_every_physical_shard(
    platform: Platform, admin: Paycore
) -> None:
    shards = platform.shards
    wanted: dict[int, str] = {}
    for attempt in range(1000):
        key = f"placement-{attempt}"
        physical = shards.engines.index(
            shards.engine_for_logical(shards.logical_shard_for_new_merchant(key))
        )
        wanted.setdefault(physical, key)
    assert set(wanted) == set(range(len(shards.engines)))
    for physical, key in wanted.items():
        created = await admin.accounts.CreateMerchant(
            account_pb2.CreateMerchantRequest(
                name=f"Shard {physical}", email="s@x.test", country="US", default_currency="usd"
            ),
            metadata=idempotency_key(key),
        )
        engine = shards.engine_for_merchant(created.id)
        assert engine is shards.engines[physical]
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(merchants.c.name).where(merchants.c.merchant_id == created.id)
                )
            ).all()
        assert [row.name for row in rows] == [f"Shard {physical}"]


async def test_sessions_carry_time_limits(platform: Platform) -> None:
    for engine in platform.shards.engines:
        async with engine.connect() as connection:
            timeout = (await connection.execute(text("show statement_timeout"))).scalar_one()
            idle = (
                await connection.execute(text("show idle_in_transaction_session_timeout"))
            ).scalar_one()
        assert (timeout, idle) == ("30s", "1min")


async def test_reads_run_without_a_transaction_around_them(
    platform: Platform, merchant: MerchantFixture
) -> None:
    """Each statement of a read is its own transaction: one round trip, no BEGIN/ROLLBACK."""
    xid = text("select pg_current_xact_id()::text")
    async with platform.shards.read(merchant.merchant.id) as connection:
        first, second = [(await connection.execute(xid)).scalar_one() for _ in range(2)]
    assert first != second
    async with platform.shards.transaction(merchant.merchant.id) as connection:
        first, second = [(await connection.execute(xid)).scalar_one() for _ in range(2)]
    assert first == second


PID = text("select pg_backend_pid()")


async def pid_of(connection: AsyncConnection) -> int:
    return int((await connection.execute(PID)).scalar_one())


@pytest_asyncio.fixture
async def one_connection_shards(migrated: Settings) -> AsyncIterator[Shards]:
    """Shards of their own whose pools start empty and keep one idle connection: the next
    checkout after a connection went back gets that very connection."""
    shards = Shards(migrated.with_overrides(database_pool_size=1))
    yield shards
    await shards.dispose()


async def test_the_tasks_a_reads_held_block_waits_for_share_its_connection(
    platform: Platform, merchant: MerchantFixture
) -> None:
    """A request's fan-out inside the block ("in this task and those it starts") reads on the
    held connection; a read while another uses it checks out its own."""
    shards, merchant_id = platform.shards, merchant.merchant.id

    async def read() -> int:
        async with shards.read(merchant_id) as connection:
            return await pid_of(connection)

    async with shards.reads_held(merchant_id):
        held = await read()
        alone = await asyncio.create_task(read())
        together = await asyncio.gather(read(), read())
    assert alone == together[0] == held
    assert together[1] != held


async def test_a_task_that_outlives_reads_held_reads_on_a_connection_of_its_own(
    one_connection_shards: Shards, merchant: MerchantFixture
) -> None:
    """A task started inside the block and not waited for (it kept the block's context) reads
    after the block returned its connection: it checks out one of its own, rather than use the
    returned one (closed: ResourceClosedError)."""
    shards, merchant_id = one_connection_shards, merchant.merchant.id
    block_ended = asyncio.Event()

    async def read_later() -> int:
        await block_ended.wait()
        async with shards.read(merchant_id) as connection:
            return await pid_of(connection)

    async with shards.reads_held(merchant_id):
        async with shards.read(merchant_id) as connection:
            held = await pid_of(connection)
        later = asyncio.create_task(read_later())
    block_ended.set()
    assert await later == held  # the pool's one connection, checked out anew


async def test_a_read_still_running_when_reads_held_ends_keeps_its_connection(
    one_connection_shards: Shards, merchant: MerchantFixture
) -> None:
    """The block ends while a task it started still reads on the held connection: the pool
    gets the connection back only once that read ends, so a transaction that begins meanwhile
    never shares it (the read's statement and the transaction's on one session)."""
    shards, merchant_id = one_connection_shards, merchant.merchant.id
    reading = asyncio.Event()

    async def slow_read() -> int:
        async with shards.read(merchant_id) as connection:
            reading.set()
            slow = text("select pg_backend_pid() from pg_sleep(0.2)")
            return int((await connection.execute(slow)).scalar_one())

    async with shards.reads_held(merchant_id):
        read = asyncio.create_task(slow_read())
        await reading.wait()
    async with shards.transaction(merchant_id) as transaction:
        transactions = await pid_of(transaction)
        reads = await read
    assert reads != transactions
    pool = shards.engine_for_merchant(merchant_id).pool
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_dispose_waits_for_a_connection_still_in_use_and_closes_it(
    migrated: Settings,
) -> None:
    """A transaction that outlives the code that closes the platform (a group commit's
    recording, a cancelled call's rollback) gives its connection back after `dispose` began.
    Before, the pool was closed at once and the connection went back into it afterwards,
    where nobody closed it: its socket stayed open until the garbage collector found it (and
    failed whatever test it found it in)."""
    shards = Shards(migrated)
    in_use = asyncio.Event()

    async def transaction_that_outlives_the_close() -> asyncpg.Connection:
        async with shards.engines[0].begin() as connection:
            driver = await driver_of(connection)
            in_use.set()
            await asyncio.sleep(0.3)
            await connection.execute(text("select 1"))
        return driver

    outliving = asyncio.create_task(transaction_that_outlives_the_close())
    await in_use.wait()
    await shards.dispose()
    assert outliving.done()  # dispose waited for it
    assert (await outliving).is_closed()
