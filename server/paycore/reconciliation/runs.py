"""A reconciliation run: record it (RunReconciliation, or the daily job), then a worker claims
it and executes it.

Executing streams the report once, COPYing each line into a staging table on its merchant's
shard, every shard's transaction open side by side; then each shard in turn matches, stores its
discrepancies, books the day's settlement and the automatic resolutions, checks the settled-day
invariant and records its part, and commits. The run is finished on the home shard last.

A worker that dies in the middle leaves some shards committed and the rest rolled back; its
lease runs out and the next worker runs the whole day again. Matching is idempotent (items
settle to the day again, discrepancies are keyed, the settlement posts only a difference, the
resolutions' transfers have derived ids), so the rerun ends where one clean run would have.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import asyncpg
from paycore.ids import HOME_LOGICAL_SHARD, Prefix, new_id
from paycore.reconciliation import checks, matching, payout_matching, repository, settlement
from paycore.reconciliation.books import Books, owner_logical_shard
from paycore.reconciliation.discrepancies import (
    DiscrepancyBook,
    close_unfound,
    resolved_unfound,
)
from paycore.reconciliation.events import (
    DISCREPANCY_RESOLVED,
    RUN_COMPLETED,
    ReconciliationEvents,
)
from paycore.reconciliation.matching import DayWindow
from paycore.reconciliation.metrics import ReconciliationMetrics
from paycore.reconciliation.models import RECONCILIATION_OWNER, PartCounts, Run, RunStatus, Source
from paycore.reconciliation.report import ReportSource, ReportUnavailable, line_reference
from paycore.reconciliation.resolution import Resolver
from paycore.storage import Shards
from paycore.storage.raw import driver_of
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)
T = TypeVar("T")

_WORKER_TROUBLE = (DBAPIError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
"""What a run fails with when the worker, not the day, is in trouble (a lost connection, a lock
or statement timeout): the run stays RUNNING and the next worker takes it over when the lease
runs out (at most ATTEMPT_COUNT_MAX times)."""


@dataclass(frozen=True)
class Matching:
    """What matching needs to know about the contract and the cut-off."""

    psp_fee_basis_points: int
    timing_window_seconds: int
    lease: dt.timedelta


@dataclass(frozen=True, slots=True)
class Runs:
    _shards: Shards
    _sources: Mapping[Source, ReportSource]
    _books: Books
    _resolver: Resolver
    _metrics: ReconciliationMetrics
    _events: ReconciliationEvents
    _terms: Matching
    _clock: Callable[[], float] = time.time

    @property
    def home(self) -> AsyncEngine:
        return self._shards.home

    def now(self) -> dt.datetime:
        """The injectable clock's time (the daily job and the leases read it)."""
        return dt.datetime.fromtimestamp(self._clock(), dt.UTC)

    def sources(self) -> list[Source]:
        return list(self._sources)

    # -- recording ------------------------------------------------------------------------------

    async def request(self, connection: AsyncConnection, source: Source, day: dt.date) -> Run:
        """A new run of `source` for `day`, due at once (on the home shard's `connection`)."""
        run_id = new_id(Prefix.RECONCILIATION_RUN, HOME_LOGICAL_SHARD)
        return await repository.insert_run(
            connection, RECONCILIATION_OWNER, run_id, source, day, due_at=self.now()
        )

    async def request_daily(self) -> list[Run]:
        """The daily job's half: once the configured time of day has passed, yesterday's run of
        each source, unless one exists."""
        now = self.now()
        yesterday = now.date() - dt.timedelta(days=1)
        requested = []
        async with self.home.begin() as connection:
            for source in self._sources:
                found = await repository.latest_run_of_day(
                    connection, RECONCILIATION_OWNER, source, yesterday
                )
                if found is None:
                    requested.append(await self.request(connection, source, yesterday))
        return requested

    # -- executing ------------------------------------------------------------------------------

    async def run_due(self) -> Run | None:
        """Claims the oldest due run (new, or abandoned by a dead worker) and executes it."""
        now = self.now()
        given_up: Run | None = None
        async with self.home.begin() as connection:
            claimed = await repository.claim_due_run(
                connection, RECONCILIATION_OWNER, now, self._terms.lease
            )
            if claimed is not None and claimed.attempt_count > repository.ATTEMPT_COUNT_MAX:
                given_up = await repository.finish_run(
                    connection,
                    RECONCILIATION_OWNER,
                    claimed.id,
                    RunStatus.FAILED,
                    PartCounts(),
                    f"gave up after {repository.ATTEMPT_COUNT_MAX} attempts",
                )
        if given_up is not None:
            return self._counted(given_up)
        if claimed is None:
            return None
        return await self.execute(claimed)

    async def execute(self, run: Run) -> Run:
        """Runs the day and finishes the run: SUCCEEDED, or FAILED at once with the reason when
        the report cannot be read or a shard's day check (or anything else about the day's
        data) fails, which running it again as it is would repeat. A new RunReconciliation of
        the day retries it (each shard that committed its part is matched again, idempotently).
        Only the database or the network failing (and the process dying) leaves the run RUNNING
        for the next worker once the lease runs out (`_WORKER_TROUBLE`)."""
        try:
            counts = await self._match_all_shards(run)
        except _WORKER_TROUBLE:
            raise
        except Exception as error:
            if isinstance(error, ReportUnavailable):
                log.warning("reconciliation run %s failed: %s", run.id, error)
                reason = str(error)
            else:
                log.exception("reconciliation run %s failed", run.id)
                reason = f"{type(error).__name__}: {error}"
            async with self.home.begin() as connection:
                failed = await repository.finish_run(
                    connection,
                    RECONCILIATION_OWNER,
                    run.id,
                    RunStatus.FAILED,
                    PartCounts(),
                    reason,
                )
            return self._counted(failed)
        async with self.home.begin() as connection:
            finished = await repository.finish_run(
                connection, RECONCILIATION_OWNER, run.id, RunStatus.SUCCEEDED, counts
            )
            await self._events.run.record(connection, RUN_COMPLETED, finished)
        await self.refresh_metrics()
        return self._counted(finished)

    def _counted(self, finished: Run) -> Run:
        """`finished`, counted in the runs' metric once its transaction committed."""
        self._metrics.run_finished(finished.source, finished.status)
        return finished

    async def _match_all_shards(self, run: Run) -> PartCounts:
        source = self._sources[run.source]
        window = DayWindow.of(run.day, self._terms.timing_window_seconds)
        async with contextlib.AsyncExitStack() as stack:
            connections = [
                await stack.enter_async_context(engine.begin()) for engine in self._shards.engines
            ]
            drivers = [await driver_of(connection) for connection in connections]
            for driver in drivers:
                await matching.create_staging(driver)
            routes: dict[str, int] = {}
            number = 0
            started = time.perf_counter()
            async for batch in source.lines(run.day):
                per_shard: list[list[tuple[int, str, bytes]]] = [[] for _ in drivers]
                for merchant_id, body in batch:
                    number += 1
                    shard = routes.get(merchant_id)
                    if shard is None:
                        shard = routes[merchant_id] = self._shard_of(merchant_id)
                    per_shard[shard].append((number, merchant_id, body))
                for driver, records in zip(drivers, per_shard, strict=True):
                    if records:
                        await matching.stage(driver, records)
            log.info(
                "run %s: %d lines staged in %.1f s", run.id, number, time.perf_counter() - started
            )
            prepared, next_day_read = await self._look_at_next_day(run, source, drivers, window)
            # The shards match side by side (PostgreSQL works on each at once); each commits
            # its part as soon as it is done: the checkpoint a rerun repeats. A part that fails
            # does not end the others: the run waits for every part before it leaves this
            # block, which closes their connections (a part still running would otherwise go
            # on with a connection back in the pool, inside its transaction).
            parts = await _every_part(
                self._match_and_commit(index, connection, driver, run, window, first, next_day_read)
                for index, (connection, driver, first) in enumerate(
                    zip(connections, drivers, prepared, strict=True)
                )
            )
            total = sum(parts, PartCounts())
        return total

    async def _look_at_next_day(
        self, run: Run, source: ReportSource, drivers: list[Any], window: DayWindow
    ) -> tuple[list[matching.Prepared], bool]:
        """Each shard's first half of matching; then, when paycore has items of the day that
        its report lacks, the lines of the next day's report (what the PSP has published of it
        so far) that name one of them are staged on their shard: such an item crossed the
        cut-off and is timing, whatever the hour paycore recorded it; one the next day lacks is
        missing_at_psp. Whether the next day's report was read: when the PSP has not published
        it (or cannot serve it now), an absent item recorded within the timing window before
        midnight is timing (the next day's report should carry it), the others missing_at_psp,
        which the next day's run closes when its report carries them. The bank's report
        likewise (payout_matching.prepare: paid payouts it lacks), whose window applies either
        way (a payout's bank line may be on the day before, too)."""
        prepare = payout_matching.prepare if run.source is Source.BANK_PAYOUTS else matching.prepare
        prepared = await _every_part(prepare(driver, run.source, window) for driver in drivers)
        absent = {
            (merchant_id, reference): index
            for index, first in enumerate(prepared)
            for merchant_id, reference in first.absent
        }
        read = bool(absent) and await self._stage_next_day(run, source, drivers, absent)
        return prepared, read

    async def _stage_next_day(
        self,
        run: Run,
        source: ReportSource,
        drivers: list[Any],
        absent: Mapping[tuple[str, str], int],
    ) -> bool:
        """Stages the next day's lines that name an `absent` item ((merchant, reference) -> the
        index of its shard) on that shard (recon_next_raw), reading the report until every
        absent item has a line (a rerun of an old day does not stream its whole next day; a
        line a day lacks for good still makes the run read to the end); false when the report
        could not be read to its end (what it staged before failing still counts)."""
        next_day = run.day + dt.timedelta(days=1)
        found = 0
        unseen = set(absent)
        try:
            async with contextlib.aclosing(source.lines(next_day)) as batches:
                async for batch in batches:
                    per_shard: list[list[tuple[int, str, bytes]]] = [[] for _ in drivers]
                    for merchant_id, body in batch:
                        key = (merchant_id, line_reference(body))
                        shard = absent.get(key)
                        if shard is not None:
                            found += 1
                            unseen.discard(key)
                            per_shard[shard].append((found, merchant_id, body))
                    for driver, records in zip(drivers, per_shard, strict=True):
                        if records:
                            await matching.stage(driver, records, "recon_next_raw")
                    if not unseen:
                        break
        except ReportUnavailable as error:
            log.warning(
                "run %s: the next day's report is not available (%s): of the day's %d absent "
                "items, those recorded in the timing window are timing, the others "
                "missing_at_psp",
                run.id,
                error,
                len(absent),
            )
            # A report that failed midway staged some of its lines: each is still the PSP's
            # word, but the rest is unknown, so the window applies too.
            return False
        log.info(
            "run %s: %d lines of %d absent items found in the %s report",
            run.id,
            found,
            len(absent),
            next_day,
        )
        return True

    async def _match_and_commit(
        self,
        index: int,
        connection: AsyncConnection,
        driver: object,
        run: Run,
        window: DayWindow,
        prepared: matching.Prepared,
        next_day_read: bool,
    ) -> PartCounts:
        started = time.perf_counter()
        counts = await self._match_shard(connection, driver, run, window, prepared, next_day_read)
        await connection.commit()
        log.info(
            "run %s: shard %d matched and committed in %.1f s",
            run.id,
            index,
            time.perf_counter() - started,
        )
        return counts

    async def _match_shard(
        self,
        connection: AsyncConnection,
        driver: object,
        run: Run,
        window: DayWindow,
        prepared: matching.Prepared,
        next_day_read: bool,
    ) -> PartCounts:
        if run.source is Source.BANK_PAYOUTS:
            # The bank pays nothing to settle: paycore booked each payout's cash as it went.
            matched = await payout_matching.match(driver, run.source, run.id, window, prepared)
            totals = []
        else:
            matched = await matching.match(
                driver,
                run.source,
                run.id,
                window,
                self._terms.psp_fee_basis_points,
                prepared,
                next_day_read=next_day_read,
            )
            totals = await matching.settlement_totals(driver)
        book = DiscrepancyBook(self._resolver, self._events.discrepancy)
        await book.store(
            connection,
            driver,
            run.source,
            run.day,
            run.id,
            matched.discrepancies,
            matched.failure_codes,
        )
        unfound = await close_unfound(driver, run.source, run.day, run.id, matched.discrepancies)
        turned: list[tuple[str, str]] = []
        if run.source is Source.PSP_SETTLEMENT and self.now() >= window.end:
            # The day has ended, so its report is complete: a timing of the day before that it
            # does not carry never crossed the cut-off (docs/reconciliation.md).
            turned = await book.turn_unarrived(connection, driver, run.source, run.id, run.day)
        closed = [
            *matched.late_arrivals,
            *((m, d) for m, d, _ in matched.booked_late),
            *((gone.merchant_id, gone.id) for gone in unfound if gone.was_open),
            *turned,
        ]
        changed: set[str] = set()
        if run.source is Source.PSP_SETTLEMENT:
            # A merchant whose lines changed: what an earlier run settled is settled again.
            changed = {found.merchant_id for found in matched.discrepancies}
            changed |= {gone.merchant_id for gone in unfound}
            stale = await resolved_unfound(connection, run.source, run.day, matched.discrepancies)
            for resolved in stale:
                await self._resolver.reverse(connection, resolved, run.id)
                changed.add(resolved.merchant_id)
            await settlement.settle_day(
                connection, driver, self._books, run.source, run.day, totals, sorted(changed)
            )
        for merchant_id, discrepancy_id in closed:
            late = await repository.locked_discrepancy(connection, merchant_id, discrepancy_id)
            if late is not None:
                await self._events.discrepancy.record(connection, DISCREPANCY_RESOLVED, late)
        merchants = sorted(
            {merchant for merchant, *_ in totals}
            | {found.merchant_id for found in matched.discrepancies}
            | {merchant for merchant, _ in closed}
            | {gone.merchant_id for gone in unfound}
            | changed
        )
        if run.source is Source.BANK_PAYOUTS:
            settled = await settlement.settled_merchants(driver, run.source, run.day)
            merchants = sorted(set(merchants) | set(settled))
        await checks.check_day(connection, driver, run.source, run.day, merchants)
        # An earlier day a late booking settled to: its item is in, its discrepancy closed; the
        # day before, whose timings turned into missing_at_psp.
        earlier = [
            *matched.booked_late,
            *((m, d, run.day - dt.timedelta(days=1)) for m, d in turned),
        ]
        for day in sorted({day for _, _, day in earlier if day != run.day}):
            late_merchants = sorted({m for m, _, d in earlier if d == day})
            await checks.check_day(connection, driver, run.source, day, late_merchants)
        counts = PartCounts(
            record_count=matched.record_count,
            matched_count=matched.matched_count,
            discrepancy_count=len(matched.discrepancies),
            auto_resolved_count=await repository.auto_resolved_count(
                connection, run.source, run.day, [found.key for found in matched.discrepancies]
            ),
        )
        await repository.save_part(connection, RECONCILIATION_OWNER, run.id, counts)
        return counts

    def _shard_of(self, merchant_id: str) -> int:
        return self._shards.physical_of_logical(owner_logical_shard(merchant_id))

    async def refresh_metrics(self) -> None:
        counts: dict[str, int] = {}
        for engine in self._shards.engines:
            async with engine.connect() as connection:
                for kind, count in (await repository.open_counts_by_kind(connection)).items():
                    counts[kind] = counts.get(kind, 0) + count
        self._metrics.set_open(counts)


async def _every_part(parts: Iterable[Awaitable[T]]) -> list[T]:
    """The shards' parts run side by side, each to its end even when another fails (a part
    still running would otherwise go on with a connection its caller is about to close);
    then the first failure is raised, or every result returned in order."""
    finished = await asyncio.gather(*parts, return_exceptions=True)
    for part in finished:
        if isinstance(part, BaseException):
            raise part
    return cast(list[T], finished)
