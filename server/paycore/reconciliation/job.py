"""The worker's `reconciliation` job: from the configured time of day on, it records
yesterday's run of each source (once), and it executes due runs, new or abandoned by a worker
that died (their lease ran out). Runs live on the home shard, so the job works there only."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.reconciliation.runs import Runs
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True)
class DailyReconciliation:
    runs: Runs
    daily_at_minutes: int
    """Minutes after midnight UTC from which yesterday is reconciled."""
    name: str = "reconciliation"
    interval_seconds: float = 5.0

    async def run(self, engine: AsyncEngine) -> int:
        if engine is not self.runs.home:
            return 0
        now = self.runs.now()
        requested = 0
        if now.hour * 60 + now.minute >= self.daily_at_minutes:
            requested = len(await self.runs.request_daily())
        executed = await self.runs.run_due()
        return requested + (0 if executed is None else 1)
