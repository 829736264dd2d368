"""The worker's `dispute_feed` job: reads the PSP's disputes feed and applies each change once
(paycore.dispute.service.Disputes.read_feed). The feed's position lives on the home shard
(logical shard 0's), so the job works there only."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.dispute.service import Disputes
from paycore.storage import Shards
from sqlalchemy.ext.asyncio import AsyncEngine

HOME_LOGICAL_SHARD = 0


@dataclass(frozen=True)
class DisputeFeed:
    disputes: Disputes
    shards: Shards
    name: str = "dispute_feed"
    interval_seconds: float = 5.0

    async def run(self, engine: AsyncEngine) -> int:
        if engine is not self.shards.engine_for_logical(HOME_LOGICAL_SHARD):
            return 0
        return await self.disputes.read_feed(engine)
