"""paycore.storage.moves step by step, on two scratch databases: orderings that a move under
load (tests/deploy/test_shard_move.py) meets only now and then, made to happen every time."""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from typing import Any, NoReturn

import asyncpg
import pytest
from paycore import contracts
from paycore.config import Settings
from paycore.ids import HOME_LOGICAL_SHARD, Prefix, new_id, shard_account_id
from paycore.ledger import integrity
from paycore.ledger.models import AccountType, NewAccount, TransferRequest
from paycore.ledger.service import LedgerService
from paycore.runtime.context import CallContext, Caller, CallerKind, begin_call
from paycore.runtime.mutations import idempotency_owner
from paycore.storage.failures import refused_by_a_shard_move
from paycore.storage.idempotency import IdempotencyStore, OpenKey, operator_owner
from paycore.storage.moves import MoveRefused, ShardMove, merchant_tables, owners_of
from paycore.storage.schema import idempotency_keys, merchants
from paycore.storage.shards import MerchantRoute, Shards
from paycore.v1 import account_pb2
from sqlalchemy import Table, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.storage.support import scratch_shards

# On physical shard 0 of two by the configured map (logical mod physical count).
LOGICAL = 2


async def test_a_write_committed_after_the_log_is_read_is_replayed_later(
    migrated: Settings,
) -> None:
    """A writer takes its log sequences when it writes, but its log rows are seen when it
    commits: a batch can read a later writer's keys while an earlier one is still open. The
    earlier writer's keys must be replayed by the next batch, not dropped with the batch's log
    rows (which left the target a balance without the entries that made it)."""
    async with scratch_sharding(migrated) as (shards, _urls):
        await late_writer_during_a_replay(shards)


async def late_writer_during_a_replay(shards: Shards) -> None:
    source, target = shards.engines
    merchant_id = new_id(Prefix.ACCOUNT, LOGICAL)
    ledger = LedgerService(shards)
    move = ShardMove(shards, LOGICAL, 1, refresh_wait_seconds=0)
    await move._start_capture(source)
    await insert_merchant(source, LOGICAL, merchant_id)
    async with source.begin() as connection:
        accounts = [
            (
                await ledger.create_account(
                    connection, NewAccount(merchant_id, f"code_{index}", AccountType.ASSET, "usd")
                )
            ).id
            for index in range(4)
        ]

    def transfer(debit: int, credit: int, amount: int) -> TransferRequest:
        return TransferRequest(
            new_id(Prefix.LEDGER_TRANSFER, LOGICAL),
            accounts[debit],
            accounts[credit],
            amount,
            "usd",
            code="test",
        )

    async with source.connect() as late:
        late_transaction = await late.begin()
        await ledger.post_in(late, merchant_id, [transfer(0, 1, 50)])
        # Later sequences, committed first: the batch below reads these and not the late ones.
        await ledger.post([([transfer(2, 3, 70)], merchant_id)])
        async with target.connect() as gate:
            # The replay waits on the target, after it has read the log and before it removes
            # the rows it read from it: the late writer commits in between.
            await gate.execute(
                text(f"LOCK TABLE {', '.join(t.name for t in merchant_tables())} IN SHARE MODE")
            )
            replaying = asyncio.create_task(move._replay(source, target))
            await waiting_on_a_lock(target)
            await late_transaction.commit()
            await gate.rollback()
        await replaying
    # The late writer's accounts move again: their rows are logged and replayed once more.
    await ledger.post([([transfer(0, 1, 30)], merchant_id)])
    while await move._replay(source, target):
        pass

    for table in merchant_tables():
        assert await rows(target, table, merchant_id) == await rows(source, table, merchant_id), (
            table.name
        )
    report = await integrity.check_engines([target], int(time.time()), merchant_id)
    assert report.mismatches == []
    assert report.transfer_count == 3


async def test_a_writer_that_reaches_the_log_after_the_fence_is_refused(
    migrated: Settings,
) -> None:
    """The switch raises the fence, then waits for the writers holding the log's lock: a writer
    that read the fence down but had not yet written the log would not be waited for, and could
    commit on the source after the last replay. So the trigger writes the log first and reads
    the fence after (migration 0020): a writer held before the log sees the fence and fails."""
    async with scratch_sharding(migrated) as (shards, urls):
        await writer_held_before_the_log(shards, urls[0])


async def writer_held_before_the_log(shards: Shards, source_url: str) -> None:
    source = shards.engines[0]
    await ShardMove(shards, LOGICAL, 1, refresh_wait_seconds=0)._start_capture(source)
    gate, writer, mover = [await asyncpg.connect(source_url) for _ in range(3)]
    try:
        async with gate.transaction():
            await gate.execute("LOCK TABLE shard_move_log IN SHARE MODE")
            writing = asyncio.create_task(
                writer.execute(
                    "INSERT INTO merchants (merchant_id, name, email, country, default_currency,"
                    " livemode, metadata) VALUES ($1, 'Acme', 'ops@acme.test', 'US', 'usd',"
                    " false, '{}')",
                    new_id(Prefix.ACCOUNT, LOGICAL),
                )
            )
            await waiting_on_a_lock(source)
            await mover.execute("UPDATE shard_moves SET fenced = true")
        with pytest.raises(asyncpg.PostgresError) as refused:
            await writing
        assert refused.value.sqlstate == "PCM01"
    finally:
        for connection in (gate, writer, mover):
            await connection.close()


async def test_a_database_refuses_the_writes_of_a_shard_it_moved_away(migrated: Settings) -> None:
    """After the move and its cleanup, the fence is gone; a flow still holding the old
    database's engine (a phased payment across its PSP call) must fail there (PCM01, retried
    where the map says), not write rows nothing reads. Moving the shard back lifts it."""
    async with scratch_sharding(migrated) as (shards, _urls):
        await writes_after_a_move_and_back(shards)


async def writes_after_a_move_and_back(shards: Shards) -> None:
    first, second = shards.engines
    await ShardMove(shards, LOGICAL, 1, refresh_wait_seconds=0).run()
    with pytest.raises(DBAPIError) as refused:
        await insert_merchant(first, LOGICAL)
    assert refused_by_a_shard_move(refused.value)
    await insert_merchant(first, LOGICAL + 2)  # another logical shard of the same database
    await insert_merchant(second, LOGICAL)

    report = await ShardMove(shards, LOGICAL, 0, refresh_wait_seconds=0).run()
    assert report.copied_rows == 1  # the merchant written on the second database came back
    await insert_merchant(first, LOGICAL)
    with pytest.raises(DBAPIError):
        await insert_merchant(second, LOGICAL)


async def test_the_home_shard_never_moves(migrated: Settings) -> None:
    """The platform's rows (reconciliation runs, the dispute feed's position) live beside the
    home logical shard and are not a merchant's: no move would take them along."""
    shards = Shards(migrated)
    try:
        with pytest.raises(MoveRefused, match="home shard"):
            await ShardMove(shards, HOME_LOGICAL_SHARD, 1, refresh_wait_seconds=0).run()
    finally:
        await shards.dispose()


async def test_a_phased_key_refused_by_the_fence_is_released_on_the_target(
    migrated: Settings,
) -> None:
    """A phased request's completion fails because its shard is switching databases: its key
    is released where the key is once the map flips (not on the fenced source, which refuses
    it), so the client's retry finds the key free instead of in use until its lease ends."""
    async with scratch_shards(migrated) as urls:
        settings = migrated.with_overrides(database_urls=urls)
        shards, mover_shards = Shards(settings), Shards(settings)  # the mover: its own process
        try:
            await completion_refused_by_the_fence(shards, mover_shards)
        finally:
            await shards.dispose()
            await mover_shards.dispose()


async def completion_refused_by_the_fence(shards: Shards, mover_shards: Shards) -> None:
    source, target = shards.engines
    merchant_id = new_id(Prefix.ACCOUNT, LOGICAL)
    move = ShardMove(mover_shards, LOGICAL, 1, refresh_wait_seconds=0)
    await move._start_capture(source)
    await insert_merchant(source, LOGICAL, merchant_id)

    async def record(connection: AsyncConnection) -> account_pb2.SellerAccount:
        return account_pb2.SellerAccount(id=merchant_id)

    async def complete(recorded: account_pb2.SellerAccount, key: OpenKey) -> NoReturn:
        # The PSP call, during which the move copies, catches up and switches.
        await move._copy(source, target, await move._merchants(source))
        await move._catch_up(source, target)
        await move._switch(source, target)
        await insert_merchant(source, LOGICAL)  # refused by the fence: PCM01
        raise AssertionError("the fence let a write through")

    with pytest.raises(DBAPIError) as refused:
        await IdempotencyStore().answered_phased(
            source,
            merchant_id,
            "key-1",
            b"fingerprint",
            account_pb2.SellerAccount,
            record,
            complete,
            timedelta(seconds=30),
            route=MerchantRoute(shards, merchant_id),
        )
    assert refused_by_a_shard_move(refused.value)  # the completion's error, not the release's
    assert shards.physical_of_logical(LOGICAL) == 1  # reread by the release
    async with target.connect() as connection:
        leased = await connection.scalar(
            select(idempotency_keys.c.locked_until).where(
                idempotency_keys.c.merchant_id == merchant_id
            )
        )
    assert leased is None


def test_a_merchants_owners_are_every_owner_of_its_idempotency_keys() -> None:
    """The move selects a merchant's rows by `owners_of`: whatever key class calls, the owner
    its idempotency keys are stored under is one of them."""
    merchant_id = new_id(Prefix.ACCOUNT, LOGICAL)
    for kind in CallerKind:
        assert owner_for(kind, merchant_id) in owners_of(LOGICAL, [merchant_id]), kind


async def test_a_publishable_keys_idempotency_keys_move_with_the_merchant(
    migrated: Settings,
) -> None:
    """An idempotency key used with a publishable key is owned by "<merchant>/publishable_key"
    (idempotency_owner), which 0016's paycore_logical_shard read as no shard's: the move left
    it behind, and a retry on the new database found no key and made a second object. Now the
    copy takes it, a key written during the move is logged and replayed, the cleanup deletes
    them from the old database (which refuses new ones), and a retry replays the answer."""
    async with scratch_sharding(migrated) as (shards, _urls):
        await keys_across_a_move(shards, partial(owner_for, CallerKind.PUBLISHABLE_KEY))


@pytest.mark.parametrize(
    "owner_of",
    [operator_owner, lambda merchant_id: operator_owner(shard_account_id(LOGICAL))],
    ids=["of the merchant", "of the logical shard"],
)
async def test_an_operators_idempotency_keys_move_with_the_logical_shard(
    migrated: Settings, owner_of: Callable[[str], str]
) -> None:
    """An operator acting for no merchant owned its keys as "admin", which the move left behind:
    a retry on the new database ran the call again (a second merchant for CreateMerchant).
    They are owned by "<merchant>/admin", or by the logical shard's account for a call that
    names no merchant (paycore.storage.idempotency.operator_owner), and move like a
    merchant's."""
    async with scratch_sharding(migrated) as (shards, _urls):
        await keys_across_a_move(shards, owner_of)


async def keys_across_a_move(shards: Shards, owner_of: Callable[[str], str]) -> None:
    """Keys of `owner_of(a merchant of LOGICAL)`: copied, logged and replayed, cleaned up."""
    source, target = shards.engines
    merchant_id = new_id(Prefix.ACCOUNT, LOGICAL)
    owner = owner_of(merchant_id)
    move = ShardMove(shards, LOGICAL, 1, refresh_wait_seconds=0)
    await insert_merchant(source, LOGICAL, merchant_id)
    await move._start_capture(source)
    await made_with_key(source, owner, "copied")
    merchants = await move._merchants(source)
    await move._copy(source, target, merchants)
    await made_with_key(source, owner, "replayed")  # after the copy's snapshot: logged
    await move._catch_up(source, target)
    await move._switch(source, target)
    await move._clean_up(source, merchants)

    assert await keys_of(source, owner) == []
    assert await keys_of(target, owner) == ["copied", "replayed"]
    for key in ("copied", "replayed"):
        assert await replayed_with_key(target, owner, key) == f"made with {key}"
    with pytest.raises(asyncpg.PostgresError) as refused:
        await made_with_key(source, owner, "late")
    assert refused_by_a_shard_move(refused.value)


def owner_for(kind: CallerKind, merchant_id: str) -> str:
    """The owner of the idempotency keys a `kind` caller uses for the merchant."""
    policy = contracts.method_policies()["/paycore.v1.CustomerService/CreatePaymentMethod"]
    call = CallContext("CreatePaymentMethod", "req-test", policy, Caller(kind, merchant_id, "key"))

    def owner() -> str:
        begin_call(call)
        return idempotency_owner(merchant_id)

    return contextvars.copy_context().run(owner)


async def made_with_key(engine: AsyncEngine, owner: str, key: str) -> str:
    """A call with the idempotency key that makes an object: the object's id."""

    async def make(connection: AsyncConnection) -> account_pb2.SellerAccount:
        return account_pb2.SellerAccount(id=f"made with {key}")

    store = IdempotencyStore()
    answer = await store.answered(engine, owner, key, b"call", account_pb2.SellerAccount, make)
    return answer.response.id


async def replayed_with_key(engine: AsyncEngine, owner: str, key: str) -> str:
    """Its retry: the id in the stored answer (a key not found would make the object again)."""

    async def make_again(connection: AsyncConnection) -> NoReturn:
        raise AssertionError(f"the retry with {key} made a second object")

    store = IdempotencyStore()
    answer = await store.answered(
        engine, owner, key, b"call", account_pb2.SellerAccount, make_again
    )
    return answer.response.id


async def keys_of(engine: AsyncEngine, owner: str) -> list[str]:
    async with engine.connect() as connection:
        found = await connection.scalars(
            select(idempotency_keys.c.key)
            .where(idempotency_keys.c.merchant_id == owner)
            .order_by(idempotency_keys.c.key)
        )
        return list(found)


@asynccontextmanager
async def scratch_sharding(settings: Settings) -> AsyncIterator[tuple[Shards, tuple[str, ...]]]:
    """Shards over two scratch databases of their own (and those databases' URLs)."""
    async with scratch_shards(settings) as urls:
        shards = Shards(settings.with_overrides(database_urls=urls))
        try:
            yield shards, urls
        finally:
            await shards.dispose()


async def insert_merchant(
    engine: AsyncEngine, logical_shard: int, merchant_id: str | None = None
) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            insert(merchants).values(
                merchant_id=merchant_id or new_id(Prefix.ACCOUNT, logical_shard),
                name="Acme",
                email="ops@acme.test",
                country="US",
                default_currency="usd",
                livemode=False,
                metadata={},
            )
        )


async def rows(engine: AsyncEngine, table: Table, merchant_id: str) -> list[Any]:
    async with engine.connect() as connection:
        found = await connection.execute(
            select(table)
            .where(table.c.merchant_id == merchant_id)
            .order_by(*table.primary_key.columns)
        )
        return [tuple(row) for row in found]


async def waiting_on_a_lock(engine: AsyncEngine) -> None:
    async with asyncio.timeout(10), engine.connect() as connection:
        while not await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ):
            await connection.rollback()
            await asyncio.sleep(0.01)
