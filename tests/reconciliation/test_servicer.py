"""ReconciliationService over gRPC: RunReconciliation records a run the worker's job executes,
GetReconciliationRun reads it, ListDiscrepancies filters, ResolveDiscrepancy books once (a
replay with the same key answers the stored result); bad input is refused naming the field."""

from __future__ import annotations

import datetime as dt
import time

import grpc
import pytest
from grpc import aio
from paycore.client import Paycore
from paycore.ids import Prefix, new_id
from paycore.reconciliation import repository
from paycore.reconciliation.job import daily_reconciliation
from paycore.reconciliation.models import RECONCILIATION_OWNER, PartCounts, RunStatus, Source
from paycore.v1 import reconciliation_pb2 as pb

from tests.helpers import rich_error
from tests.payout.support import World
from tests.reconciliation.conftest import Desk
from tests.reconciliation.day import plan_day, unique_day, unique_past_day


async def test_runs_and_discrepancies_over_grpc(desk: Desk, admin: Paycore) -> None:
    day = unique_past_day()
    charges = plan_day(desk.merchants, day, 20, 5, seed=2)
    await desk.writer.write(charges)
    plain = [c for c in charges if not c.refunds]
    iso = day.isoformat()
    await desk.alter_report(
        [
            {"day": iso, "action": "drop", "id": plain[0].psp_id},
            {"day": iso, "action": "fee", "id": plain[1].psp_id, "fee": 1},
        ]
    )
    # The session's server records the run; the desk's job (the same code, reading this
    # test's simulator) executes it, as a worker would.
    recorded = await admin.reconciliation.RunReconciliation(
        pb.RunReconciliationRequest(date=iso), metadata=(("idempotency-key", f"run-{iso}"),)
    )
    assert recorded.status == pb.RECONCILIATION_RUN_STATUS_RUNNING
    assert recorded.source == pb.RECONCILIATION_SOURCE_PSP_SETTLEMENT
    desk.clock.now = time.time() + 1  # the server recorded it due at its (real) time
    executed = await desk.reconciliation.runs.run_due()
    assert executed is not None and executed.id == recorded.id

    run = await admin.reconciliation.GetReconciliationRun(
        pb.GetReconciliationRunRequest(id=recorded.id)
    )
    assert run.status == pb.RECONCILIATION_RUN_STATUS_SUCCEEDED
    assert (run.settlement_record_count, run.discrepancy_count, run.auto_resolved_count) == (
        24,
        2,
        1,
    )
    listed = await admin.reconciliation.ListDiscrepancies(
        pb.ListDiscrepanciesRequest(run=run.id, status=pb.DISCREPANCY_STATUS_OPEN)
    )
    assert [d.kind for d in listed.data] == [pb.DISCREPANCY_KIND_MISSING_AT_PSP]
    missing = listed.data[0]
    assert (missing.object, missing.merchant) == (plain[0].intent_id, plain[0].merchant_id)
    fees = await admin.reconciliation.ListDiscrepancies(
        pb.ListDiscrepanciesRequest(date=iso, kind=pb.DISCREPANCY_KIND_FEE_MISMATCH)
    )
    assert [(d.status, d.action) for d in fees.data] == [
        (pb.DISCREPANCY_STATUS_RESOLVED, pb.DISCREPANCY_ACTION_AUTO)
    ]
    paged = await admin.reconciliation.ListDiscrepancies(
        pb.ListDiscrepanciesRequest(date=iso, limit=1)
    )
    assert len(paged.data) == 1 and paged.has_more

    request = pb.ResolveDiscrepancyRequest(
        id=missing.id, action=pb.DISCREPANCY_ACTION_WRITE_OFF, resolution="lost at the PSP"
    )
    key = (("idempotency-key", f"resolve-{missing.id}"),)
    resolved = await admin.reconciliation.ResolveDiscrepancy(request, metadata=key)
    replayed = await admin.reconciliation.ResolveDiscrepancy(request, metadata=key)
    assert resolved == replayed
    assert resolved.status == pb.DISCREPANCY_STATUS_RESOLVED
    assert resolved.action == pb.DISCREPANCY_ACTION_WRITE_OFF
    assert len(resolved.ledger_transfers) == 1 and resolved.resolution == "lost at the PSP"
    with pytest.raises(aio.AioRpcError) as again:
        await admin.reconciliation.ResolveDiscrepancy(request)
    assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    for receivable in await desk.receivables(day):
        assert receivable.ledger_amount == receivable.open_residual == 0, receivable
    assert all(report.ok for report in await desk.integrity())


async def test_the_daily_job_reconciles_yesterday_once_from_its_time_of_day(desk: Desk) -> None:
    day = unique_day()
    await desk.writer.write(plan_day(desk.merchants, day, 10, 2, seed=4))
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(days=1)
    job = daily_reconciliation(desk.reconciliation.runs, daily_at_minutes=120)
    home = desk.reconciliation.home

    desk.clock.now = (midnight + dt.timedelta(hours=1, minutes=59)).timestamp()
    assert await job.run(home) == 0
    desk.clock.now = (midnight + dt.timedelta(hours=2)).timestamp()
    # Yesterday's runs recorded, one of each source, then one executed per pass.
    assert await job.run(home) == 3
    assert await job.run(home) == 1
    assert await job.run(home) == 0  # once
    runs = await desk.runs_of_day(day)
    assert sorted(run.source for run in runs) == [Source.BANK_PAYOUTS, Source.PSP_SETTLEMENT]
    assert all(run.status is RunStatus.SUCCEEDED for run in runs), runs
    assert await job.run(desk.platform.shards.engines[1]) == 0  # runs live on the home shard

    page = await desk.discrepancies(day)
    assert page == []
    receivables = await desk.receivables(day)
    assert receivables and all(r.ledger_amount == 0 for r in receivables)


UNKNOWN = new_id(Prefix.DISCREPANCY, 0)


async def test_a_day_to_come_cannot_be_reconciled_and_today_can(world: World) -> None:
    """The probe: a run of 2099-01-01 "succeeded" with 0 records. A day after today (UTC, the
    server's clock: Monday 2026-12-07 10:00 here) is refused naming date, before anything is
    recorded, for both sources; today is a day in progress: its run is recorded."""
    today = dt.datetime.fromtimestamp(world.clock.now, dt.UTC).date()
    sources = (pb.RECONCILIATION_SOURCE_PSP_SETTLEMENT, pb.RECONCILIATION_SOURCE_BANK_PAYOUTS)
    run = world.admin.reconciliation.RunReconciliation
    for day in (today + dt.timedelta(days=1), dt.date(2099, 1, 1)):
        for source in sources:
            with pytest.raises(aio.AioRpcError) as raised:
                await run(pb.RunReconciliationRequest(date=day.isoformat(), source=source))
            error = rich_error(raised.value)
            assert (error.code, error.reason, error.param) == (
                grpc.StatusCode.INVALID_ARGUMENT,
                "PARAMETER_INVALID",
                "date",
            )
            assert "has not begun" in error.message
    recorded_ids = []
    for source in sources:
        recorded = await run(pb.RunReconciliationRequest(date=today.isoformat(), source=source))
        assert recorded.date == today.isoformat()
        recorded_ids.append(recorded.id)
    # Leave no run due behind in the session's databases: recorded at the world's clock
    # (tests.payout.support.START), they were due on every later test's real clock once that
    # hour had passed, and the oldest due run is claimed first: another test's run_due took
    # this day's run instead of its own.
    async with world.platform.reconciliation.home.begin() as connection:
        for run_id in recorded_ids:
            await repository.finish_run(
                connection,
                RECONCILIATION_OWNER,
                run_id,
                RunStatus.FAILED,
                PartCounts(),
                "a day in progress, recorded by a test and never run",
            )


@pytest.mark.parametrize(
    ("request_", "param"),
    [
        (pb.RunReconciliationRequest(), "date"),
        (pb.RunReconciliationRequest(date="2026-13-01"), "date"),
        (pb.RunReconciliationRequest(date="2026-12-01", psp="acme"), "psp"),
        (pb.RunReconciliationRequest(date="2026-12-01", source=99), "source"),  # type: ignore[arg-type]
        (pb.RunReconciliationRequest(date="2099-01-01"), "date"),  # a day to come
    ],
)
async def test_run_requests_are_checked(
    admin: Paycore, request_: pb.RunReconciliationRequest, param: str
) -> None:
    with pytest.raises(aio.AioRpcError) as raised:
        await admin.reconciliation.RunReconciliation(request_)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(raised.value).metadata["param"] == param


@pytest.mark.parametrize(
    ("request_", "param"),
    [
        (pb.ResolveDiscrepancyRequest(resolution="x", action=2), "id"),  # type: ignore[arg-type]
        (pb.ResolveDiscrepancyRequest(id="disc_x", resolution="x", action=2), "id"),  # type: ignore[arg-type]
        (pb.ResolveDiscrepancyRequest(id=UNKNOWN, action=2), "resolution"),  # type: ignore[arg-type]
        (pb.ResolveDiscrepancyRequest(id=UNKNOWN, resolution="x"), "action"),
        (pb.ResolveDiscrepancyRequest(id=UNKNOWN, resolution="x", action=1), "action"),  # type: ignore[arg-type]
        (pb.ResolveDiscrepancyRequest(id=UNKNOWN, resolution="x", action=42), "action"),  # type: ignore[arg-type]
    ],
)
async def test_resolve_requests_are_checked(
    admin: Paycore, request_: pb.ResolveDiscrepancyRequest, param: str
) -> None:
    with pytest.raises(aio.AioRpcError) as raised:
        await admin.reconciliation.ResolveDiscrepancy(request_)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(raised.value).metadata["param"] == param


async def test_merchant_keys_cannot_reconcile(desk: Desk, merchant: object) -> None:
    client = merchant.client  # type: ignore[attr-defined]
    with pytest.raises(aio.AioRpcError) as raised:
        await client.reconciliation.ListDiscrepancies(pb.ListDiscrepanciesRequest())
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_operators_read_the_platforms_events_naming_no_merchant(
    desk: Desk, admin: Paycore
) -> None:
    """`reconciliation.run.completed` is recorded for the platform (owner "platform"), but
    ListEvents and GetEvent needed a merchant in `paycore-merchant` (an operator naming none:
    PERMISSION_DENIED; naming "platform": not an acct_ id), so no caller could ever read it.
    An operator naming no merchant reads the platform's own events."""
    from paycore.v1 import event_pb2

    day = unique_past_day()
    await desk.writer.write(plan_day(desk.merchants, day, 4, 1, seed=3))
    recorded = await admin.reconciliation.RunReconciliation(
        pb.RunReconciliationRequest(date=day.isoformat()),
        metadata=(("idempotency-key", f"run-events-{day}"),),
    )
    desk.clock.now = time.time() + 1
    executed = await desk.reconciliation.runs.run_due()
    assert executed is not None and executed.id == recorded.id
    listed = await admin.events.ListEvents(
        event_pb2.ListEventsRequest(type="reconciliation.run.completed", object_id=recorded.id)
    )
    [completed] = listed.data
    run = pb.ReconciliationRun()
    assert completed.data.object.Unpack(run) and run.status == (
        pb.RECONCILIATION_RUN_STATUS_SUCCEEDED
    )
    read = await admin.events.GetEvent(event_pb2.GetEventRequest(id=completed.id))
    assert read == completed
