"""The worker's loops: every job on every physical shard, `concurrency` loops each.

A loop runs its job on its shard, first within a second of the start (spread at random); when
the run did something it runs again at once (a backlog drains batch by batch), otherwise it
waits the job's interval with jitter (so loops of several workers spread out). A run that
raises is logged and counted and the loop carries on after the interval: no job's error stops
the worker. A shard that cannot be reached (a failover, a database not there yet) is logged
once when a run first meets it and once when a run succeeds on it again, not at every run of
every job (paycore.storage.failures.database_unreachable). Stopping lets every loop finish the
run it is in (within a grace period), then returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence

from paycore.background import spawn
from paycore.storage.failures import database_unreachable, failure_reason
from paycore.worker.job import Job
from paycore.worker.metrics import WorkerMetrics
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)
JITTER = 0.2
# `--once` drains each job on each shard; this caps the runs so a stream of new work that
# arrives as fast as it is done cannot keep a one-off worker alive.
ONCE_RUN_COUNT_MAX = 1000
# The first run of each loop comes at a random moment within this (or the job's interval,
# when shorter) after the worker starts: a platform just started has exchange rates to convert
# with (the rates job's interval is a minute) and its gauges filled.
START_SPREAD_SECONDS_MAX = 1.0


class Worker:
    def __init__(
        self,
        jobs: Sequence[Job],
        engines: Sequence[AsyncEngine],
        metrics: WorkerMetrics,
        *,
        concurrency: int = 1,
        jitter: float = JITTER,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.jobs = tuple(jobs)
        self._engines = tuple(engines)
        self._metrics = metrics
        self._concurrency = concurrency
        self._jitter = jitter
        self._random = random.Random()
        self._unreachable: dict[int, set[str]] = {}
        """Per shard, the jobs whose last run there found it unreachable: the outage is logged
        when the first one fails and when the last of them succeeds again (a job that does
        not touch the database succeeds meanwhile and proves nothing)."""

    async def run(self, stop: asyncio.Event, grace_seconds: float) -> None:
        """Runs the loops until `stop` is set, then waits up to `grace_seconds` for the runs
        in progress to finish (and cancels those that do not)."""
        loops = [
            spawn(self._loop(job, shard, engine, stop), name=f"{job.name}/{shard}")
            for job in self.jobs
            for shard, engine in enumerate(self._engines)
            for _ in range(self._concurrency)
        ]
        logger.info(
            "worker running %s on %d shard(s), %d loop(s) each",
            ", ".join(job.name for job in self.jobs),
            len(self._engines),
            self._concurrency,
        )
        try:
            await stop.wait()
        finally:
            _, unfinished = await asyncio.wait(loops, timeout=grace_seconds) if loops else ((), ())
            for loop in unfinished:
                loop.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
            if unfinished:
                logger.warning("cancelled %d run(s) still going after the grace", len(unfinished))

    async def run_once(self) -> bool:
        """Drains every job on every shard once, in turn; True when no run failed."""
        succeeded = True
        for job in self.jobs:
            for shard, engine in enumerate(self._engines):
                for _ in range(ONCE_RUN_COUNT_MAX):
                    processed = await self._run(job, shard, engine)
                    if processed is None:
                        succeeded = False
                    if not processed:
                        break
        return succeeded

    async def _loop(self, job: Job, shard: int, engine: AsyncEngine, stop: asyncio.Event) -> None:
        # A random start spreads the loops of every worker, within START_SPREAD_SECONDS_MAX:
        # a job with a long interval (the exchange rates' minute, the integrity gauge's hour)
        # runs soon after a start, not up to an interval later.
        delay = self._random.uniform(0, min(job.interval_seconds, START_SPREAD_SECONDS_MAX))
        while not await _stopped_within(stop, delay):
            processed = await self._run(job, shard, engine)
            delay = 0.0 if processed else self._jittered(job.interval_seconds)

    async def _run(self, job: Job, shard: int, engine: AsyncEngine) -> int | None:
        """One run, measured; None when it failed."""
        started = time.perf_counter()
        try:
            processed = await job.run(engine)
        except Exception as error:
            self._failed(job, shard, error)
            self._metrics.runs.labels(job.name, str(shard), "error").inc()
            return None
        finally:
            self._metrics.run_seconds.labels(job.name).observe(time.perf_counter() - started)
        failing = self._unreachable.get(shard)
        if failing is not None and job.name in failing:
            failing.discard(job.name)
            if not failing:
                del self._unreachable[shard]
                logger.info("shard %d answers again: its jobs run", shard)
        self._metrics.runs.labels(job.name, str(shard), "ok").inc()
        self._metrics.processed.labels(job.name, str(shard)).inc(processed)
        return processed

    def _failed(self, job: Job, shard: int, error: Exception) -> None:
        if not database_unreachable(error):
            logger.exception("job %s failed on shard %d", job.name, shard)
            return
        failing = self._unreachable.setdefault(shard, set())
        if not failing:
            logger.warning(
                "shard %d unreachable (%s): its jobs retry every interval until it answers",
                shard,
                failure_reason(error),
            )
        failing.add(job.name)

    def _jittered(self, seconds: float) -> float:
        return seconds * self._random.uniform(1 - self._jitter, 1 + self._jitter)


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """Waits up to `seconds` for `stop`; whether it is set. Yields to the loop even at 0."""
    if seconds <= 0:
        await asyncio.sleep(0)
        return stop.is_set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
