"""A worker that dies in the middle of a run (one shard's part committed, the other's last
statement failing), then the run taken over once its lease has run out: the same result as one
clean run, and no transfer booked twice."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import pytest
from paycore.errors import InvariantViolation
from paycore.reconciliation import checks
from paycore.reconciliation.models import Action, Kind, Run, RunStatus, Source
from paycore.storage.raw import driver_of
from paycore.v1 import payout_pb2
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.reconciliation.conftest import BankDesk, Desk
from tests.reconciliation.day import plan_day, unique_day

PART_WAIT_SECONDS = 30.0
WORKER_DEATH_SECONDS = 60.0
POLL_SECONDS = 0.05


async def _tagged(desk: Desk, day: dt.date) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for engine in desk.platform.shards.engines:
        async with engine.connect() as connection:
            driver = await driver_of(connection)
            rows = await driver.fetch(
                "SELECT id, amount FROM ledger_transfers"
                " WHERE metadata->>'reconciliation' = $1 ORDER BY id",
                f"psp_settlement:{day.isoformat()}",
            )
            found.extend((row["id"], row["amount"]) for row in rows)
    return sorted(found)


async def _part_committed(desk: Desk, shard: int, run_id: str) -> bool:
    async with desk.platform.shards.engines[shard].connect() as connection:
        driver = await driver_of(connection)
        return bool(
            await driver.fetchval(
                "SELECT count(*) FROM reconciliation_run_parts WHERE run_id = $1", run_id
            )
        )


async def _die_midway(desk: Desk, source: Source, day: dt.date) -> Run:
    """A run of `source` for `day` recorded, then a worker that dies in it after the first
    shard's part committed and before the second's did: the run stays RUNNING."""
    runs = desk.reconciliation.runs
    async with runs.home.begin() as connection:
        requested = await runs.request(connection, source, day)

    # The second shard's part cannot commit while a test transaction holds this lock: the run
    # is caught after the first shard committed, and the worker dies there.
    locker = await asyncpg.connect(desk.platform.settings.database_urls[1])
    try:
        transaction = locker.transaction()
        await transaction.start()
        await locker.execute("LOCK TABLE reconciliation_run_parts IN ACCESS EXCLUSIVE MODE")
        worker = asyncio.create_task(runs.run_due())
        for _ in range(int(PART_WAIT_SECONDS / POLL_SECONDS)):
            if await _part_committed(desk, 0, requested.id):
                break
            await asyncio.sleep(POLL_SECONDS)
        # The worker waits on the lock until its lock_timeout, then dies with the error: its
        # second shard's transaction rolls back, the first's stays committed.
        with pytest.raises(DBAPIError, match="lock"):
            await asyncio.wait_for(worker, WORKER_DEATH_SECONDS)
        await transaction.rollback()
    finally:
        await locker.close()

    assert await _part_committed(desk, 0, requested.id)
    assert not await _part_committed(desk, 1, requested.id)
    assert (await desk.reconciliation.get_run(requested.id)).status is RunStatus.RUNNING
    return requested


async def _take_over(desk: Desk, run_id: str) -> Run:
    """Nobody takes the run over before its lease runs out; after it, the next worker does."""
    runs = desk.reconciliation.runs
    assert await runs.run_due() is None
    desk.clock.now += desk.platform.settings.reconciliation_lease_ms / 1000 + 1
    taken_over = await runs.run_due()
    assert taken_over is not None and taken_over.id == run_id
    assert taken_over.status is RunStatus.SUCCEEDED, taken_over.failure_message
    assert taken_over.attempt_count == 2
    return taken_over


async def test_a_run_killed_midway_then_taken_over_gives_the_same_result(desk: Desk) -> None:
    day = unique_day()
    charges = plan_day(desk.merchants, day, 400, 100, seed=3)
    await desk.writer.write(charges)
    plain = [c for c in charges if not c.refunds]
    first = next(c for c in plain if c.merchant_id == desk.merchants[0])
    second = next(c for c in plain if c.merchant_id == desk.merchants[1])
    iso = day.isoformat()
    await desk.alter_report(
        [
            {"day": iso, "action": "duplicate", "id": first.psp_id},
            {"day": iso, "action": "duplicate", "id": second.psp_id},
        ]
    )
    requested = await _die_midway(desk, Source.PSP_SETTLEMENT, day)
    halfway = await _tagged(desk, day)
    assert halfway  # the first shard's settlement and resolution are booked

    taken_over = await _take_over(desk, requested.id)
    assert (taken_over.record_count, taken_over.matched_count) == (502, 500)
    assert (taken_over.discrepancy_count, taken_over.auto_resolved_count) == (2, 2)
    found = await desk.discrepancies(day)
    assert sorted((d.kind, d.object_id) for d in found) == sorted(
        [(Kind.DUPLICATE, first.intent_id), (Kind.DUPLICATE, second.intent_id)]
    )
    assert all(d.action is Action.AUTO and len(d.ledger_transfer_ids) == 1 for d in found)
    booked = await _tagged(desk, day)
    # Per merchant: the net and the fee of the day's settlement, and the duplicate's transfer.
    assert len(booked) == 3 * len(desk.merchants)
    assert set(halfway) <= set(booked)
    for receivable in await desk.receivables(day):
        assert receivable.ledger_amount == receivable.open_residual == 0, receivable
    assert all(report.ok for report in await desk.integrity())

    # And a fresh run of the day changes nothing.
    again = await desk.run(day)
    assert (again.record_count, again.matched_count, again.discrepancy_count) == (502, 500, 2)
    assert await _tagged(desk, day) == booked


async def _failures(desk: BankDesk, payout_id: str) -> int:
    """The payout_failure balance transactions of a payout (one per failure, ever)."""
    return await desk.count(
        "SELECT count(*) FROM balance_transactions WHERE type = 'payout_failure' AND source = $1",
        payout_id,
    )


async def test_a_bank_run_killed_midway_follows_the_bank_once(bank_desk: BankDesk) -> None:
    desk, monday, shops = bank_desk.desk, bank_desk.monday, bank_desk.shops
    failed = [await bank_desk.instant(shop, 2_500) for shop in shops]
    for shop in shops:
        await bank_desk.instant(shop, 1_500)
    iso = monday.isoformat()
    await desk.psp.set_faults(
        bank_payouts=[{"day": iso, "action": "fail", "id": p} for p in failed]
    )
    await bank_desk.at(monday + dt.timedelta(days=1), 2)

    requested = await _die_midway(desk, Source.BANK_PAYOUTS, monday)
    # The first shard's payout was failed (committed); the second shard's rolled back.
    statuses = [(await shop.get_payout(p)).status for shop, p in zip(shops, failed, strict=True)]
    assert statuses == [payout_pb2.PAYOUT_STATUS_FAILED, payout_pb2.PAYOUT_STATUS_PAID]

    taken_over = await _take_over(desk, requested.id)
    assert (taken_over.record_count, taken_over.matched_count) == (8, 4)
    assert (taken_over.discrepancy_count, taken_over.auto_resolved_count) == (2, 2)
    found = await desk.discrepancies(monday)
    assert sorted(d.object_id for d in found) == sorted(failed)
    # Each instant payout's amount back (payout_failure) and its fee (payout_fee_reversal).
    assert all(d.action is Action.AUTO and len(d.ledger_transfer_ids) == 2 for d in found)
    for shop, payout_id in zip(shops, failed, strict=True):
        assert (await shop.get_payout(payout_id)).status == payout_pb2.PAYOUT_STATUS_FAILED
        assert await _failures(bank_desk, payout_id) == 1
    for receivable in await desk.receivables(monday, Source.BANK_PAYOUTS):
        assert receivable.ledger_amount == 0, receivable
    assert all(report.ok for report in await desk.integrity())

    again = await desk.run(monday, Source.BANK_PAYOUTS)
    assert (again.record_count, again.matched_count, again.discrepancy_count) == (8, 4, 2)
    assert [await _failures(bank_desk, payout_id) for payout_id in failed] == [1, 1]


async def test_a_shard_that_fails_leaves_the_others_to_end_their_part(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One shard's part fails (here its day check) while another's is still matching: the run
    ends only once every part has ended, each committed or rolled back on its own connection.
    The run used to end at the first failure and close the other shard's connection under its
    still-running part, which went on with a connection back in the pool: pooled connections
    left inside a transaction ("cannot use Connection.transaction() in a manually started
    transaction", "another operation is in progress"), holding locks until the payments of
    every merchant on that shard answered DATABASE_CONFLICT."""
    day = unique_day()
    await desk.writer.write(plan_day(desk.merchants, day, 40, 10, seed=5))
    runs = desk.reconciliation.runs
    async with runs.home.begin() as connection:
        requested = await runs.request(connection, Source.PSP_SETTLEMENT, day)

    failing, still_matching = desk.merchants
    failed, resume = asyncio.Event(), asyncio.Event()
    resumed_in_transaction: list[bool] = []
    check_day = checks.check_day

    async def check(
        connection: AsyncConnection,
        driver: object,
        source: Source,
        on: dt.date,
        merchants: list[str],
    ) -> None:
        if failing in merchants:
            failed.set()
            raise InvariantViolation("this shard's day does not hold")
        if still_matching in merchants:
            await failed.wait()
            await resume.wait()
            resumed_in_transaction.append(connection.in_transaction())
        await check_day(connection, driver, source, on, merchants)

    monkeypatch.setattr(checks, "check_day", check)
    worker = asyncio.create_task(runs.run_due())
    await asyncio.wait_for(failed.wait(), PART_WAIT_SECONDS)
    ended, _ = await asyncio.wait({worker}, timeout=1.0)
    assert not ended, "the run ended while another shard's part was still running"
    resume.set()
    # The day check failed: the run ends FAILED with its reason (test_failed_runs.py).
    finished = await worker
    assert finished is not None and finished.status is RunStatus.FAILED
    assert "this shard's day does not hold" in finished.failure_message

    assert resumed_in_transaction == [True]
    assert not await _part_committed(desk, 0, requested.id)
    assert await _part_committed(desk, 1, requested.id)
    # Every pooled connection of every shard is whole: none left inside a transaction.
    size = desk.platform.settings.database_pool_size
    for engine in desk.platform.shards.engines:

        async def whole() -> int:
            async with engine.begin() as connection:  # noqa: B023
                value = await connection.scalar(text("SELECT 1"))
                await asyncio.sleep(0.05)  # hold it, so the pool hands out every connection
                return int(value or 0)

        assert await asyncio.gather(*(whole() for _ in range(size))) == [1] * size

    # Nothing is left RUNNING for a worker to take over; once the day holds, a new run of it
    # (the retry) ends where one clean run would have.
    monkeypatch.setattr(checks, "check_day", check_day)
    desk.clock.now += desk.platform.settings.reconciliation_lease_ms / 1000 + 1
    assert await runs.run_due() is None
    retried = await desk.run(day)
    assert retried.status is RunStatus.SUCCEEDED, retried.failure_message
    assert retried.discrepancy_count == 0
