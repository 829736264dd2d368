"""A `timing` whose line never arrives: the day D was run before the PSP published D+1, so an
item recorded in the hour before midnight that D's report lacks was `timing`. When D+1's own run
reads D+1's complete report (D+1 has ended) and the line is not there either, that run turns the
timing into D's `missing_at_psp` (the timing closes, `auto`, naming the report; the new
discrepancy is queued with the same view and residual), instead of leaving it open forever
(docs/reconciliation.md, "Across the cut-off")."""

from __future__ import annotations

import dataclasses
import datetime as dt

from paycore.reconciliation.models import Action, Kind, RunStatus, Source, Status

from tests.reconciliation.conftest import Desk
from tests.reconciliation.day import at, plan_day, unique_day
from tests.reconciliation.test_next_day import _Unpublished


async def _blind_run(desk: Desk, day: dt.date) -> None:
    """The day run while the PSP has not published the next day (the window decides)."""
    runs = desk.reconciliation.runs
    reports = runs._sources[Source.PSP_SETTLEMENT]
    unpublished = dataclasses.replace(
        runs, _sources={Source.PSP_SETTLEMENT: _Unpublished(reports, day + dt.timedelta(days=1))}
    )
    async with desk.reconciliation.home.begin() as connection:
        run = await desk.reconciliation.request_run(connection, Source.PSP_SETTLEMENT, day)
    assert (await unpublished.execute(run)).status is RunStatus.SUCCEEDED


def _midnight_after(day: dt.date) -> float:
    return at(day + dt.timedelta(days=1), 0).timestamp()


async def test_a_timing_the_next_days_complete_report_lacks_becomes_missing_at_psp(
    desk: Desk,
) -> None:
    day = unique_day()
    following = day + dt.timedelta(days=1)
    charges = plan_day(desk.merchants, day, 6, 0, seed=43)
    tomorrow = plan_day(desk.merchants, following, 4, 0, seed=47)
    lost, moved = charges[0], charges[1]
    lost.at = at(day, 23 * 3600 + 40 * 60)  # in the timing window, never reported
    moved.at = at(day, 23 * 3600 + 50 * 60)  # in the window, reported on the next day
    await desk.writer.write(charges + tomorrow)
    iso = day.isoformat()
    await desk.alter_report(
        [
            {"day": iso, "action": "drop", "id": lost.psp_id},
            {"day": iso, "action": "next_day", "id": moved.psp_id},
        ]
    )
    await _blind_run(desk, day)
    timings = {d.object_id: d for d in await desk.discrepancies(day)}
    assert {(d.kind, d.status) for d in timings.values()} == {(Kind.TIMING, Status.OPEN)}
    assert set(timings) == {lost.intent_id, moved.intent_id}

    # D+1 run while it is still going on (its report may grow): nothing is decided yet.
    desk.clock.now = _midnight_after(following) - 600
    early = await desk.run(following)
    assert early.status is RunStatus.SUCCEEDED, early.failure_message
    still = {d.object_id: d for d in await desk.discrepancies(day)}
    assert (still[lost.intent_id].kind, still[lost.intent_id].status) == (
        Kind.TIMING,
        Status.OPEN,
    )

    # D+1 has ended: its run reads the complete report; the moved line closes its timing,
    # the lost one's becomes missing_at_psp.
    desk.clock.now = _midnight_after(following) + 2 * 3600
    run = await desk.run(following)
    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    assert (run.record_count, run.matched_count, run.discrepancy_count) == (5, 5, 0)
    after = await desk.discrepancies(day)
    by_key = {(d.kind, d.object_id): d for d in after}
    assert sorted((d.kind, d.object_id, d.status) for d in after) == sorted(
        [
            (Kind.TIMING, lost.intent_id, Status.RESOLVED),
            (Kind.TIMING, moved.intent_id, Status.RESOLVED),
            (Kind.MISSING_AT_PSP, lost.intent_id, Status.OPEN),
        ]
    )
    closed = by_key[(Kind.TIMING, lost.intent_id)]
    assert (closed.action, closed.ledger_transfer_ids) == (Action.AUTO, ())
    assert closed.note == (
        f"not in the {following.isoformat()} report: missing_at_psp since {run.id}"
    )
    missing = by_key[(Kind.MISSING_AT_PSP, lost.intent_id)]
    assert (missing.day, missing.run_id, missing.merchant_id) == (day, run.id, lost.merchant_id)
    assert (missing.internal_amount, missing.internal_currency) == (lost.amount, lost.currency)
    assert missing.receivable_residual() == {lost.currency: lost.amount}
    for checked in (day, following):
        for receivable in await desk.receivables(checked):
            assert receivable.ledger_amount == receivable.open_residual, receivable
    assert all(report.ok for report in await desk.integrity())

    # Either day again: the same discrepancies, nothing new, nothing booked.
    assert (await desk.run(following)).status is RunStatus.SUCCEEDED
    rerun = await desk.run(day)
    assert rerun.status is RunStatus.SUCCEEDED, rerun.failure_message
    assert rerun.discrepancy_count == 1
    assert sorted((d.id, d.status) for d in await desk.discrepancies(day)) == sorted(
        (d.id, d.status) for d in after
    )
    assert all(report.ok for report in await desk.integrity())


async def test_a_missing_at_psp_closed_by_a_blind_rerun_is_opened_again(desk: Desk) -> None:
    """The day run with the next day readable (the lost item missing_at_psp), then again blind
    (the window makes it timing; the missing_at_psp closes as not found again): the next day's
    run opens that missing_at_psp again rather than making a second one of the same key."""
    day = unique_day()
    following = day + dt.timedelta(days=1)
    charges = plan_day(desk.merchants, day, 4, 0, seed=61)
    lost = charges[0]
    lost.at = at(day, 23 * 3600 + 45 * 60)
    await desk.writer.write(charges)
    await desk.alter_report([{"day": day.isoformat(), "action": "drop", "id": lost.psp_id}])
    assert (await desk.run(day)).status is RunStatus.SUCCEEDED
    (first,) = await desk.discrepancies(day)
    assert (first.kind, first.status) == (Kind.MISSING_AT_PSP, Status.OPEN)
    await _blind_run(desk, day)
    assert sorted((d.kind, d.status) for d in await desk.discrepancies(day)) == sorted(
        [(Kind.MISSING_AT_PSP, Status.RESOLVED), (Kind.TIMING, Status.OPEN)]
    )

    desk.clock.now = _midnight_after(following) + 3600
    run = await desk.run(following)

    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    after = {d.kind: d for d in await desk.discrepancies(day)}
    assert set(after) == {Kind.MISSING_AT_PSP, Kind.TIMING}
    missing = after[Kind.MISSING_AT_PSP]
    assert (missing.id, missing.status, missing.run_id) == (first.id, Status.OPEN, run.id)
    assert (missing.action, missing.note, missing.resolved) == (None, "", None)
    assert after[Kind.TIMING].status is Status.RESOLVED
    for receivable in await desk.receivables(day):
        assert receivable.ledger_amount == receivable.open_residual, receivable
    assert all(report.ok for report in await desk.integrity())
