"""The worker's `dispute_feed` job: on every shard, finishes the calls to the PSP (evidence,
accept) that a request left behind (Disputes.resume_stale_calls); on the home shard (logical
shard 0's, where the feed's position lives), reads the PSP's disputes feed and applies each
change once (Disputes.read_feed)."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.dispute.service import Disputes
from paycore.ids import HOME_LOGICAL_SHARD
from paycore.storage import Shards
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True)
class DisputeFeed:
    disputes: Disputes
    shards: Shards
    name: str = "dispute_feed"
    interval_seconds: float = 5.0

    async def run(self, engine: AsyncEngine) -> int:
        resumed = await self.disputes.resume_stale_calls(engine)
        if engine is not self.shards.engine_for_logical(HOME_LOGICAL_SHARD):
            return resumed
        return resumed + await self.disputes.read_feed(engine)
