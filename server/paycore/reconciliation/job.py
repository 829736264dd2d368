"""The worker's `reconciliation` job: from the configured time of day on, it records
yesterday's run of each source (once), and it executes due runs, new or abandoned by a worker
that died (their lease ran out). Runs live on the home shard, so the job works there only.

It also keeps the open-discrepancies gauge: a run counts them when it finishes, and the job
counts them again at least once a minute, so that resolutions made through a server (another
process, whose count the gauge never holds) show within the minute."""

from __future__ import annotations

from paycore.reconciliation.runs import Runs
from paycore.worker.job import ShardJob
from sqlalchemy.ext.asyncio import AsyncEngine

GAUGE_REFRESH_SECONDS = 60.0


def daily_reconciliation(runs: Runs, daily_at_minutes: int) -> ShardJob:
    """`daily_at_minutes`: minutes after midnight UTC from which yesterday is reconciled."""
    counted_at: float | None = None

    async def run(engine: AsyncEngine) -> int:
        nonlocal counted_at
        if engine is not runs.home:
            return 0
        now = runs.now()
        requested = 0
        if now.hour * 60 + now.minute >= daily_at_minutes:
            requested = len(await runs.request_daily())
        executed = await runs.run_due()
        moment = runs.now().timestamp()
        if executed is not None:
            counted_at = moment  # the run counted them
        elif counted_at is None or moment - counted_at >= GAUGE_REFRESH_SECONDS:
            await runs.refresh_metrics()
            counted_at = moment
        return requested + (0 if executed is None else 1)

    return ShardJob("reconciliation", 5.0, run)
