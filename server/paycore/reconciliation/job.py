"""The worker's `reconciliation` job: from the configured time of day on, it records
yesterday's run of each source (once), and it executes due runs, new or abandoned by a worker
that died (their lease ran out). Runs live on the home shard, so the job works there only."""

from __future__ import annotations

from paycore.reconciliation.runs import Runs
from paycore.worker.job import ShardJob
from sqlalchemy.ext.asyncio import AsyncEngine


def daily_reconciliation(runs: Runs, daily_at_minutes: int) -> ShardJob:
    """`daily_at_minutes`: minutes after midnight UTC from which yesterday is reconciled."""

    async def run(engine: AsyncEngine) -> int:
        if engine is not runs.home:
            return 0
        now = runs.now()
        requested = 0
        if now.hour * 60 + now.minute >= daily_at_minutes:
            requested = len(await runs.request_daily())
        executed = await runs.run_due()
        return requested + (0 if executed is None else 1)

    return ShardJob("reconciliation", 5.0, run)
