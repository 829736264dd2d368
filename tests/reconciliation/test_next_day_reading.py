"""A run that looks for the day's absent items in the next day's report stops reading it once
every absent item is found: a rerun of an old day does not stream its whole next day
(docs/reconciliation.md, "Across the cut-off")."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import AsyncGenerator

from paycore.reconciliation.models import Kind, RunStatus, Source
from paycore.reconciliation.report import RawLine, ReportSource

from tests.reconciliation.conftest import Desk
from tests.reconciliation.day import at, plan_day, unique_day

NEXT_DAY_CHARGES = 30


@dataclasses.dataclass
class _Counted:
    """The PSP's reports, a line a batch, counting the lines read of `day`."""

    reports: ReportSource
    day: dt.date
    read: int = 0

    async def lines(self, day: dt.date) -> AsyncGenerator[list[RawLine], None]:
        async with contextlib.aclosing(self.reports.lines(day)) as batches:
            async for batch in batches:
                for line in batch:
                    if day == self.day:
                        self.read += 1
                    yield [line]


async def test_the_next_day_is_read_until_every_absent_item_is_found(desk: Desk) -> None:
    day = unique_day()
    following = day + dt.timedelta(days=1)
    charges = plan_day(desk.merchants, day, 6, 0, seed=53)
    tomorrow = plan_day(desk.merchants, following, NEXT_DAY_CHARGES, 0, seed=59)
    for index, charge in enumerate(tomorrow):
        charge.at = at(following, 3600 + index * 60)
    crossed = charges[0]
    crossed.at = at(day, 14 * 3600)
    # paycore recorded it on the day; the PSP captured it just after midnight (its first line
    # of the next day).
    await desk.writer.paycore(charges + tomorrow)
    desk.writer.psp([dataclasses.replace(crossed, at=at(following, 300)), *charges[1:], *tomorrow])
    runs = desk.reconciliation.runs
    counted = _Counted(runs._sources[Source.PSP_SETTLEMENT], following)
    counting = dataclasses.replace(runs, _sources={Source.PSP_SETTLEMENT: counted})
    async with desk.reconciliation.home.begin() as connection:
        requested = await desk.reconciliation.request_run(connection, Source.PSP_SETTLEMENT, day)

    run = await counting.execute(requested)

    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    found = await desk.discrepancies(day)
    assert [(d.kind, d.object_id) for d in found] == [(Kind.TIMING, crossed.intent_id)]
    assert counted.read == 1

    # The next day's own run settles the line and closes the timing (nothing left open).
    next_run = await desk.run(following)
    assert next_run.status is RunStatus.SUCCEEDED, next_run.failure_message
    assert (next_run.record_count, next_run.discrepancy_count) == (NEXT_DAY_CHARGES + 1, 0)
    assert [d.status.value for d in await desk.discrepancies(day)] == ["resolved"]
