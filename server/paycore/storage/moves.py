"""Moving a logical shard to another physical database while paycore runs (`paycore shards
move --logical N --to M`): how a deployment grows from 2 to N PostgreSQL servers.

Every row a merchant owns carries its merchant id (an idempotency key: the id and the class of
key that used it, `owners_of`), and the merchant id its logical shard, so a logical shard is the
set of rows whose merchant id names it, with the operators' idempotency keys of calls that name
only the logical shard (owned by its own account id, paycore.ids.shard_account_id). The move:

1. capture: on the source, a row in `shard_moves` and a trigger on each merchant table
   (paycore_shard_move_capture, migrations 0016 and 0020) that logs the key of every row of the
   logical shard written from now on (`shard_move_log`);
2. copy: the logical shard's rows, from one REPEATABLE READ snapshot of the source, streamed
   into the target with COPY;
3. catch up: the logged keys replayed onto the target (each key's current row upserted, or
   deleted when gone), round after round until a round is small;
4. switch: the logical shard is fenced (its writes on the source now fail with SQLSTATE PCM01,
   answered UNAVAILABLE and retried by the client's idempotency key); the writes that passed
   the fence before it committed are waited for (a lock on the log); the last keys replayed;
   the shard map on physical shard 0 flipped. Every process rereads the map within
   PAYCORE_SHARD_MAP_REFRESH_MS and routes the logical shard to the target: only that logical
   shard's writes paused, for the switch plus one refresh. A PSP answer whose recording the
   fence refused is recorded on the target as soon as the map flips (the executor rereads it,
   `MerchantRoute`), and so is a phased request's key release: the payment in flight goes on;
5. clean up, once every process has had time to reread the map: the source marks the logical
   shard moved away (`shards_moved_away`, migration 0021: its inserts there fail with PCM01
   for good, so a flow that still holds the source's engine, such as a phased payment across
   its PSP call, fails and is retried on the target instead of writing rows nothing reads);
   the rows deleted from the source; the capture trigger, fence and log removed.

A move that fails before the switch is undone (`abort`): the source stays authoritative. Moves
run one at a time per source database. The home logical shard (paycore.ids.HOME_LOGICAL_SHARD)
never moves: the platform's rows live beside it and are not a merchant's, so no move copies
them. Moving a logical shard back to a database it left clears that database's mark at the
switch.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import asyncpg
from paycore.ids import HOME_LOGICAL_SHARD, MalformedId, Prefix, logical_shard_of, shard_account_id
from paycore.storage.idempotency import operator_owner
from paycore.storage.raw import driver_of
from paycore.storage.schema import metadata, shard_map
from paycore.storage.shards import Shards
from sqlalchemy import JSON, Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

COPY_BATCH_ROWS = 5000
REPLAY_BATCH_KEYS = 2000
# Catching up stops when a round replays fewer keys than this: the switch then has little left.
CATCH_UP_SMALL = 200
CATCH_UP_ROUNDS_MAX = 50
TRIGGER = "paycore_shard_move"
MOVED_AWAY_TRIGGER = "paycore_shard_moved_away"
# The move's own writes into its target: they pass a mark a move away left there (0021).
AS_THE_MOVE = "SET LOCAL paycore.shard_move = 'copy'"
DDL_LOCK_TIMEOUT_MS = 200
DDL_ATTEMPTS_MAX = 50
# Longer than idle_in_transaction_session_timeout (60 s): every transaction ends by then.
WAIT_FOR_TRANSACTIONS_SECONDS = 90
# The API key classes whose idempotency keys are owned by "<merchant id>/<class>", not by the
# merchant id (paycore.runtime.mutations.idempotency_owner; 0022 reads their logical shard).
KEY_CLASSES_WITH_OWN_KEYS = ("publishable_key", "restricted_key")


class MoveRefused(Exception):
    """The move cannot start (same database, another move running, an unknown shard, the
    home shard)."""


@dataclass(frozen=True)
class MoveReport:
    logical_shard: int
    source: int
    target: int
    merchants: int
    copied_rows: int
    replayed_keys: int
    catch_up_rounds: int
    switch_ms: float
    """From the fence to the flipped map: how long the logical shard's writes were refused,
    before the other processes' next map refresh."""


def merchant_tables() -> list[Table]:
    """Every table a merchant owns rows in (shard_map and the move's own tables do not)."""
    return [table for table in metadata.sorted_tables if "merchant_id" in table.c]


def owners_of(logical_shard: int, merchants: list[str]) -> list[str]:
    """Every merchant_id the logical shard's rows hold: its merchants' ids, the owners of
    their key classes' and operators' idempotency keys, and the owner of the operators' keys
    that name only the logical shard. Exact values, so each table's merchant_id index finds
    them."""
    return [
        *merchants,
        *(f"{merchant}/{kind}" for merchant in merchants for kind in KEY_CLASSES_WITH_OWN_KEYS),
        *map(operator_owner, [shard_account_id(logical_shard), *merchants]),
    ]


def check_logical(shards: Shards, logical: int) -> None:
    """MoveRefused naming the range when `logical` is no logical shard of this deployment."""
    if not 0 <= logical < shards.logical_shard_count:
        last = shards.logical_shard_count - 1
        raise MoveRefused(
            f"there is no logical shard {logical} (this deployment's are 0 to {last})"
        )


@dataclass(frozen=True, slots=True)
class ShardMove:
    _shards: Shards
    _logical: int
    _target: int
    _: KW_ONLY
    refresh_wait_seconds: float
    _clock: Callable[[], float] = time.monotonic
    _tables: list[Table] = field(default_factory=merchant_tables, init=False)

    async def run(self) -> MoveReport:
        check_logical(self._shards, self._logical)
        if self._logical == HOME_LOGICAL_SHARD:
            raise MoveRefused(
                f"logical shard {HOME_LOGICAL_SHARD} is the home shard: the platform's rows"
                " (reconciliation runs, the dispute feed's position) live beside it and would"
                " not move with it"
            )
        await self._shards.refresh_map()
        source = self._shards.physical_of_logical(self._logical)
        if not 0 <= self._target < len(self._shards.engines):
            count = len(self._shards.engines)
            raise MoveRefused(
                f"there is no physical shard {self._target} (PAYCORE_DATABASE_URLS names"
                f" {count}, 0 to {count - 1}: add the new database there, in every process, first)"
            )
        if source == self._target:
            raise MoveRefused(f"logical shard {self._logical} is on {source} already")
        source_engine = self._shards.engines[source]
        target_engine = self._shards.engines[self._target]
        wanted, found = await _schema(source_engine), await _schema(target_engine)
        if found != wanted:
            raise MoveRefused(
                f"physical shard {self._target} is not migrated (schema {found or 'none'},"
                f" physical shard {source}'s {wanted}): run `paycore migrate` first"
            )
        await self._start_capture(source_engine)
        try:
            merchants = await self._merchants(source_engine)
            copied = await self._copy(source_engine, target_engine, merchants)
            replayed, rounds = await self._catch_up(source_engine, target_engine)
            switch_started = self._clock()
            replayed += await self._switch(source_engine, target_engine)
        except BaseException:
            await abort(source_engine, self._logical)
            raise
        switch_ms = (self._clock() - switch_started) * 1000
        log.info("logical shard %d now on %d; cleaning %d", self._logical, self._target, source)
        await asyncio.sleep(self.refresh_wait_seconds)
        await self._clean_up(source_engine, await self._merchants(source_engine))
        # Moved back: the target's guard no longer names the logical shard (the mark went at
        # the switch).
        await _guard(target_engine)
        return MoveReport(
            self._logical, source, self._target, len(merchants), copied, replayed, rounds, switch_ms
        )

    # -- the steps --------------------------------------------------------------------------

    async def _start_capture(self, source: AsyncEngine) -> None:
        async with source.begin() as connection:
            driver = await driver_of(connection)
            running = await driver.fetchval("SELECT logical_shard FROM shard_moves LIMIT 1")
            if running is not None:
                raise MoveRefused(f"logical shard {running} is being moved off this database")
            await driver.execute(
                "INSERT INTO shard_moves (logical_shard) VALUES ($1)", self._logical
            )
        for table in self._tables:
            key = ", ".join(f"'{column.name}'" for column in table.primary_key.columns)
            await _ddl(
                source,
                f"CREATE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON {table.name}"
                f" FOR EACH ROW EXECUTE FUNCTION paycore_shard_move_capture({key})",
            )
        # A transaction that wrote a table before its trigger existed logged nothing there:
        # the snapshot must come after every such transaction has ended.
        await _transactions_before_now_ended(source)

    async def _merchants(self, source: AsyncEngine) -> list[str]:
        """The logical shard's merchants, read from the source's merchants table."""
        async with source.connect() as connection:
            driver = await driver_of(connection)
            rows = await driver.fetch("SELECT merchant_id FROM merchants")
        return [row[0] for row in rows if _logical_of(row[0]) == self._logical]

    async def _copy(self, source: AsyncEngine, target: AsyncEngine, merchants: list[str]) -> int:
        """The merchants' rows from one snapshot of the source into the target (after
        removing any a failed earlier move left there)."""
        owners = owners_of(self._logical, merchants)
        copied = 0
        async with source.connect() as reading, target.begin() as writing:
            await reading.execution_options(isolation_level="REPEATABLE READ")
            source_driver = await driver_of(reading)
            target_driver = await driver_of(writing)
            await target_driver.execute(AS_THE_MOVE)
            # One REPEATABLE READ snapshot for every table: driver_of began it at that level.
            for table in self._tables:
                columns = [column.name for column in table.c]
                await target_driver.execute(
                    f"DELETE FROM {table.name} WHERE merchant_id = ANY($1::text[])", owners
                )
                query = (
                    f"SELECT {', '.join(columns)} FROM {table.name}"
                    " WHERE merchant_id = ANY($1::text[])"
                )
                batch: list[asyncpg.Record] = []
                async for row in source_driver.cursor(query, owners, prefetch=1000):
                    batch.append(row)
                    if len(batch) >= COPY_BATCH_ROWS:
                        copied += await _copy_rows(target_driver, table, columns, batch)
                        batch = []
                copied += await _copy_rows(target_driver, table, columns, batch)
        return copied

    async def _catch_up(self, source: AsyncEngine, target: AsyncEngine) -> tuple[int, int]:
        replayed = 0
        for rounds in range(1, CATCH_UP_ROUNDS_MAX + 1):
            done = await self._replay(source, target)
            replayed += done
            if done < CATCH_UP_SMALL:
                return replayed, rounds
        return replayed, CATCH_UP_ROUNDS_MAX

    async def _switch(self, source: AsyncEngine, target: AsyncEngine) -> int:
        async with source.begin() as connection:
            driver = await driver_of(connection)
            await driver.execute(
                "UPDATE shard_moves SET fenced = true WHERE logical_shard = $1", self._logical
            )
        # A writer that passed the fence before it committed holds a ROW EXCLUSIVE lock on
        # the log until it ends (the trigger writes the log before it reads the fence): this
        # lock waits for every such writer.
        async with source.begin() as connection:
            driver = await driver_of(connection)
            await driver.execute("LOCK TABLE shard_move_log IN EXCLUSIVE MODE")
        replayed = 0
        while done := await self._replay(source, target):
            replayed += done
        async with target.begin() as connection:  # moved back: the target owns it again
            driver = await driver_of(connection)
            await driver.execute(
                "DELETE FROM shards_moved_away WHERE logical_shard = $1", self._logical
            )
        async with self._shards.engines[0].begin() as connection:
            statement = insert(shard_map).values(
                logical_shard=self._logical, physical_shard=self._target
            )
            await connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[shard_map.c.logical_shard],
                    set_={"physical_shard": self._target, "moved_at": statement.excluded.moved_at},
                )
            )
        await self._shards.refresh_map()
        return replayed

    async def _replay(self, source: AsyncEngine, target: AsyncEngine) -> int:
        """One batch of logged keys: each key's current source row upserted onto the target,
        or deleted there when the source has none; the batch's log rows then removed."""
        async with source.connect() as reading:
            driver = await driver_of(reading)
            logged = await driver.fetch(
                "SELECT sequence, table_name, primary_key FROM shard_move_log"
                " WHERE logical_shard = $1 ORDER BY sequence LIMIT $2",
                self._logical,
                REPLAY_BATCH_KEYS,
            )
        if not logged:
            return 0
        keys_by_table: dict[str, dict[str, Any]] = {}
        for entry in logged:
            key = entry["primary_key"]  # jsonb, decoded by the dialect's codec
            keys_by_table.setdefault(entry["table_name"], {})[json.dumps(key, sort_keys=True)] = key
        tables = {table.name: table for table in self._tables}
        async with source.connect() as reading, target.begin() as writing:
            source_driver = await driver_of(reading)
            target_driver = await driver_of(writing)
            await target_driver.execute(AS_THE_MOVE)
            for name, keys in keys_by_table.items():
                await _replay_keys(source_driver, target_driver, tables[name], list(keys.values()))
        # Exactly the rows read: a writer that took a lower sequence than the batch's last but
        # committed after the log was read has its keys replayed by the next batch, not dropped.
        async with source.begin() as connection:
            driver = await driver_of(connection)
            await driver.execute(
                "DELETE FROM shard_move_log WHERE sequence = ANY($1::int8[])",
                [entry["sequence"] for entry in logged],
            )
        return len(logged)

    async def _clean_up(self, source: AsyncEngine, merchants: list[str]) -> None:
        await moved_away(source, self._logical, self._target)  # before the fence goes
        async with source.begin() as connection:
            driver = await driver_of(connection)
            # The fence's trigger lets the move's own deletes through (migration 0016).
            await driver.execute("SET LOCAL paycore.shard_move = 'cleanup'")
            for table in self._tables:
                await driver.execute(
                    f"DELETE FROM {table.name} WHERE merchant_id = ANY($1::text[])",
                    owners_of(self._logical, merchants),
                )
        await abort(source, self._logical)


async def abort(source: AsyncEngine, logical_shard: int, moved_to: int | None = None) -> None:
    """Ends a move on its source: triggers, fence and log gone; the rows stay where they are.
    Safe to run again (`paycore shards abort`, after a mover died). `moved_to`: the map has
    switched the logical shard to that physical shard, so a source of its move keeps
    refusing its inserts (`moved_away`)."""
    if moved_to is not None:
        async with source.connect() as connection:
            driver = await driver_of(connection)
            moving = await driver.fetchval(
                "SELECT 1 FROM shard_moves WHERE logical_shard = $1", logical_shard
            )
            await connection.rollback()
        if moving:
            await moved_away(source, logical_shard, moved_to)
    for table in merchant_tables():
        await _ddl(source, f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table.name}")
    async with source.begin() as connection:
        driver = await driver_of(connection)
        await driver.execute("DELETE FROM shard_move_log WHERE logical_shard = $1", logical_shard)
        await driver.execute("DELETE FROM shard_moves WHERE logical_shard = $1", logical_shard)


async def moved_away(source: AsyncEngine, logical_shard: int, physical_shard: int) -> None:
    """Marks the logical shard moved away from `source`'s database (to `physical_shard`) and
    guards its inserts there (migration 0021), until it is moved back."""
    async with source.begin() as connection:
        driver = await driver_of(connection)
        await driver.execute(
            "INSERT INTO shards_moved_away (logical_shard, physical_shard) VALUES ($1, $2)"
            " ON CONFLICT (logical_shard) DO UPDATE"
            " SET physical_shard = excluded.physical_shard, moved_at = now()",
            logical_shard,
            physical_shard,
        )
    await _guard(source)


async def _guard(engine: AsyncEngine) -> None:
    """Each merchant table's BEFORE INSERT trigger, rewritten to name the logical shards in
    `shards_moved_away` in its WHEN clause (so a write of any other shard never calls it), or
    dropped when there are none."""
    async with engine.begin() as holding:
        driver = await driver_of(holding)
        # One rewrite at a time: the last reads the table after every earlier change.
        await driver.execute("SELECT pg_advisory_xact_lock(hashtext($1))", MOVED_AWAY_TRIGGER)
        moved = [
            row[0] for row in await driver.fetch("SELECT logical_shard FROM shards_moved_away")
        ]
        installed = await driver.fetchval(
            "SELECT count(*) FROM pg_trigger WHERE tgname = $1", MOVED_AWAY_TRIGGER
        )
        if not moved and not installed:
            return
        for table in merchant_tables():
            if moved:
                shards = ", ".join(str(int(shard)) for shard in sorted(moved))
                statement = (
                    f"CREATE OR REPLACE TRIGGER {MOVED_AWAY_TRIGGER} BEFORE INSERT ON {table.name}"
                    f" FOR EACH ROW WHEN (paycore_logical_shard(NEW.merchant_id) IN ({shards}))"
                    f" EXECUTE FUNCTION {MOVED_AWAY_TRIGGER}()"
                )
            else:
                statement = f"DROP TRIGGER IF EXISTS {MOVED_AWAY_TRIGGER} ON {table.name}"
            await _ddl(engine, statement)


async def _schema(engine: AsyncEngine) -> str | None:
    """The database's Alembic revision; None when it was never migrated."""
    async with engine.connect() as connection:
        driver = await driver_of(connection)
        try:
            revision: str | None = await driver.fetchval("SELECT version_num FROM alembic_version")
        except asyncpg.UndefinedTableError:
            return None
    return revision


async def _ddl(engine: AsyncEngine, statement: str) -> None:
    """A trigger's DDL in a transaction of its own, given up after a short lock wait and
    retried: the table's lock must not queue the payments writing it, nor deadlock them."""
    for attempt in range(DDL_ATTEMPTS_MAX):
        try:
            async with engine.begin() as connection:
                driver = await driver_of(connection)
                await driver.execute(f"SET LOCAL lock_timeout = '{DDL_LOCK_TIMEOUT_MS}ms'")
                await driver.execute(statement)
            return
        except (asyncpg.LockNotAvailableError, asyncpg.DeadlockDetectedError):
            if attempt == DDL_ATTEMPTS_MAX - 1:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))


async def _transactions_before_now_ended(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        driver = await driver_of(connection)
        now = await driver.fetchval("SELECT clock_timestamp()")
        await connection.rollback()
    for _ in range(int(WAIT_FOR_TRANSACTIONS_SECONDS / 0.05)):
        async with engine.connect() as connection:
            driver = await driver_of(connection)
            older = await driver.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND xact_start < $1",
                now,
            )
        if not older:
            return
        await asyncio.sleep(0.05)
    raise MoveRefused("transactions older than the capture did not end in time")


async def _copy_rows(
    driver: asyncpg.Connection, table: Table, columns: list[str], rows: Sequence[asyncpg.Record]
) -> int:
    if rows:
        await driver.copy_records_to_table(
            table.name, records=_encodable(table, rows), columns=columns
        )
    return len(rows)


def _encodable(table: Table, rows: Sequence[asyncpg.Record]) -> list[tuple[Any, ...]]:
    """Rows as the writing connection's codecs take them: the dialect decodes json/jsonb
    into Python values on read but encodes them from text."""
    documents = [isinstance(column.type, JSON) for column in table.c]
    if not any(documents):
        return [tuple(row) for row in rows]
    return [
        tuple(
            json.dumps(value) if document and value is not None else value
            for value, document in zip(row, documents, strict=True)
        )
        for row in rows
    ]


async def _replay_keys(
    source: asyncpg.Connection,
    target: asyncpg.Connection,
    table: Table,
    keys: list[dict[str, Any]],
) -> None:
    key_columns = [column.name for column in table.primary_key.columns]
    columns = [column.name for column in table.c]
    matching = " AND ".join(f"t.{name} = k.{name}" for name in key_columns)
    rows = await source.fetch(
        f"SELECT {', '.join('t.' + name for name in columns)} FROM {table.name} t"
        f" JOIN jsonb_populate_recordset(NULL::{table.name}, $1::jsonb) k ON {matching}",
        json.dumps(keys),
    )
    await target.execute(
        f"DELETE FROM {table.name} t USING jsonb_populate_recordset(NULL::{table.name},"
        f" $1::jsonb) k WHERE {matching}",
        json.dumps(keys),
    )
    await _copy_rows(target, table, columns, rows)


def _logical_of(merchant_id: str) -> int:
    try:
        return logical_shard_of(merchant_id, Prefix.ACCOUNT)
    except MalformedId:
        return -1
