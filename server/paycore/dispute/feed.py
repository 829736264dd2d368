"""The worker's `dispute_feed` job: on every shard, finishes the calls to the PSP (evidence,
accept) that a request left behind (Disputes.resume_stale_calls); on the home shard (logical
shard 0's, where the feed's position lives), reads the PSP's disputes feed and applies each
change once (Disputes.read_feed)."""

from __future__ import annotations

from paycore.dispute.service import Disputes
from paycore.storage import Shards
from paycore.worker.job import ShardJob
from sqlalchemy.ext.asyncio import AsyncEngine


def dispute_feed(disputes: Disputes, shards: Shards) -> ShardJob:
    async def run(engine: AsyncEngine) -> int:
        resumed = await disputes.resume_stale_calls(engine)
        if engine is not shards.home:
            return resumed
        return resumed + await disputes.read_feed(engine)

    return ShardJob("dispute_feed", 5.0, run)
