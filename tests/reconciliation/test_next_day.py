"""A line the PSP moved to the next day's report is `timing` whatever the hour paycore recorded
it, not only in the window before midnight: the day's run reads what the PSP has already
published of the next day and finds the line there. A dropped line stays `missing_at_psp` at
once. The next day's run closes the timing discrepancy itself, with nothing booked, and leaves
each day's psp_receivable explained (docs/reconciliation.md, "timing")."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncGenerator

from paycore.reconciliation.models import Action, Kind, RunStatus, Source, Status
from paycore.reconciliation.report import RawLine, ReportSource, ReportUnavailable

from tests.reconciliation.conftest import Desk
from tests.reconciliation.day import at, plan_day, unique_day


async def test_a_line_moved_to_the_next_day_is_timing_at_any_hour(desk: Desk) -> None:
    day = unique_day()
    opened = await desk.open_now()
    following = day + dt.timedelta(days=1)
    charges = plan_day(desk.merchants, day, 12, 0, seed=23)
    # Charges at ordinary hours, far from midnight: one of each merchant (each physical
    # shard) moved to the next day's report, one dropped from the report.
    moved = charges[0:2]
    dropped = charges[2]
    for index, charge in enumerate(moved):
        charge.at = at(day, 13 * 3600 + index * 60)
    dropped.at = at(day, 13 * 3600 + 300)
    await desk.writer.write(charges)
    iso = day.isoformat()
    alterations: list[dict[str, object]] = [
        {"day": iso, "action": "next_day", "id": charge.psp_id} for charge in moved
    ]
    await desk.alter_report([*alterations, {"day": iso, "action": "drop", "id": dropped.psp_id}])

    run = await desk.run(day)

    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    assert (run.record_count, run.matched_count, run.discrepancy_count) == (9, 9, 3)
    found = await desk.discrepancies(day)
    assert sorted((d.kind, d.object_id, d.merchant_id, d.status) for d in found) == sorted(
        [
            *((Kind.TIMING, c.intent_id, c.merchant_id, Status.OPEN) for c in moved),
            (Kind.MISSING_AT_PSP, dropped.intent_id, dropped.merchant_id, Status.OPEN),
        ]
    )
    assert desk.open_gauge("timing") == opened["timing"] + 2
    for receivable in await desk.receivables(day):
        assert receivable.ledger_amount == receivable.open_residual, receivable
    assert all(report.ok for report in await desk.integrity())

    # The day again: the same three, nothing new.
    again = await desk.run(day)
    assert again.discrepancy_count == 3
    assert [d.id for d in await desk.discrepancies(day)] == [d.id for d in found]

    # The next day's report carries the moved lines: both close themselves, nothing booked.
    next_run = await desk.run(following)
    assert next_run.status is RunStatus.SUCCEEDED, next_run.failure_message
    assert (next_run.record_count, next_run.matched_count, next_run.discrepancy_count) == (
        2,
        2,
        0,
    )
    after = {d.id: d for d in await desk.discrepancies(day)}
    for timing in (d for d in found if d.kind is Kind.TIMING):
        closed = after[timing.id]
        assert (closed.status, closed.action, closed.ledger_transfer_ids) == (
            Status.RESOLVED,
            Action.AUTO,
            (),
        )
        assert closed.note == f"reported in the {following.isoformat()} report"
    missing = next(d for d in after.values() if d.kind is Kind.MISSING_AT_PSP)
    assert missing.status is Status.OPEN
    assert desk.open_gauge("timing") == opened["timing"]
    for receivable in await desk.receivables(following):
        assert receivable.ledger_amount == receivable.open_residual == 0, receivable
    # The day now holds only the dropped charge, which its open discrepancy explains.
    held = {r.merchant_id: r for r in await desk.receivables(day)}
    for receivable in held.values():
        assert receivable.ledger_amount == receivable.open_residual, receivable
    assert held[dropped.merchant_id].open_residual == dropped.amount
    assert all(report.ok for report in await desk.integrity())

    # Each day run again afterwards finds nothing new and books nothing.
    assert (await desk.run(day)).discrepancy_count == 1
    assert (await desk.run(following)).discrepancy_count == 0
    for receivable in await desk.receivables(following):
        assert receivable.ledger_amount == receivable.open_residual == 0, receivable


async def test_a_dropped_line_is_missing_at_psp_even_when_the_next_day_has_lines(
    desk: Desk,
) -> None:
    """The next day's report read for the day's absences does not excuse a line it does not
    carry: a charge dropped from the day (the next day's report has other lines, of the same
    merchant) is missing_at_psp at once."""
    day = unique_day()
    following = day + dt.timedelta(days=1)
    charges = plan_day(desk.merchants[:1], day, 4, 0, seed=29)
    tomorrow = plan_day(desk.merchants[:1], following, 3, 0, seed=31)
    await desk.writer.write(charges + tomorrow)
    dropped, moved = charges[0], charges[1]
    iso = day.isoformat()
    await desk.alter_report(
        [
            {"day": iso, "action": "drop", "id": dropped.psp_id},
            {"day": iso, "action": "next_day", "id": moved.psp_id},
        ]
    )

    run = await desk.run(day)

    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    found = await desk.discrepancies(day)
    assert sorted((d.kind, d.object_id) for d in found) == sorted(
        [(Kind.MISSING_AT_PSP, dropped.intent_id), (Kind.TIMING, moved.intent_id)]
    )
    # The next day: its own three and the moved one match; the timing closes.
    next_run = await desk.run(following)
    assert (next_run.record_count, next_run.matched_count, next_run.discrepancy_count) == (
        4,
        4,
        0,
    )
    for receivable in await desk.receivables(following):
        assert receivable.ledger_amount == receivable.open_residual == 0, receivable
    assert all(report.ok for report in await desk.integrity())


@dataclasses.dataclass
class _Unpublished:
    """The PSP's reports, but `day`'s is not published yet (as a real PSP's next day)."""

    reports: ReportSource
    day: dt.date

    async def lines(self, day: dt.date) -> AsyncGenerator[list[RawLine], None]:
        if day == self.day:
            raise ReportUnavailable(f"GET /v1/settlements/{day} answered 404")
        async for batch in self.reports.lines(day):
            yield batch


async def test_the_hour_before_midnight_is_timing_only_while_the_next_day_is_unread(
    desk: Desk,
) -> None:
    """A line dropped at 23:30 is missing_at_psp when the next day's report (which would carry
    a line across the cut-off) was read and lacks it: only while that report cannot be read
    does the hour before midnight make an absent item timing. Read later, each absent item
    takes the kind the next day's report gives it, the other closing itself."""
    day = unique_day()
    charges = plan_day(desk.merchants, day, 6, 0, seed=37)
    evening, moved = charges[0], charges[1]
    evening.at = at(day, 23 * 3600 + 30 * 60)  # in the timing window
    moved.at = at(day, 11 * 3600)
    await desk.writer.write(charges)
    iso = day.isoformat()
    await desk.alter_report(
        [
            {"day": iso, "action": "drop", "id": evening.psp_id},
            {"day": iso, "action": "next_day", "id": moved.psp_id},
        ]
    )
    runs = desk.reconciliation.runs
    reports = runs._sources[Source.PSP_SETTLEMENT]
    unpublished = dataclasses.replace(
        runs, _sources={Source.PSP_SETTLEMENT: _Unpublished(reports, day + dt.timedelta(days=1))}
    )
    async with desk.reconciliation.home.begin() as connection:
        first = await desk.reconciliation.request_run(connection, Source.PSP_SETTLEMENT, day)

    # The next day not published: the window decides.
    assert (await unpublished.execute(first)).status is RunStatus.SUCCEEDED
    blind = await desk.discrepancies(day)
    assert sorted((d.kind, d.object_id, d.status) for d in blind) == sorted(
        [
            (Kind.TIMING, evening.intent_id, Status.OPEN),
            (Kind.MISSING_AT_PSP, moved.intent_id, Status.OPEN),
        ]
    )
    for receivable in await desk.receivables(day):
        assert receivable.ledger_amount == receivable.open_residual, receivable

    # Published (the simulator serves the next day so far): the report decides.
    run = await desk.run(day)
    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    seen = await desk.discrepancies(day)
    opened = sorted((d.kind, d.object_id) for d in seen if d.status is Status.OPEN)
    assert opened == sorted(
        [(Kind.MISSING_AT_PSP, evening.intent_id), (Kind.TIMING, moved.intent_id)]
    )
    closed = [d for d in seen if d.status is Status.RESOLVED]
    assert sorted(d.id for d in closed) == sorted(d.id for d in blind)
    assert all(d.action is Action.AUTO and d.ledger_transfer_ids == () for d in closed)
    for receivable in await desk.receivables(day):
        assert receivable.ledger_amount == receivable.open_residual, receivable
    assert all(report.ok for report in await desk.integrity())
