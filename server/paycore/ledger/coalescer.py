"""Gathers concurrent PostTransfers calls into batches, per physical shard.

A caller's transfers wait at most `wait_ms` for company, and a batch holds at most
`batch_transfers_max` transfers; a few workers per shard apply batches concurrently (their
locks are ordered, so they cannot deadlock). Each caller keeps its own segment: its results are
its own, its linked chains never reach into another caller's transfers, and one caller's failed
transfer fails nobody else's. An error of the batch as a whole (the database is down) reaches
every caller of that batch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from paycore.background import spawn
from paycore.ledger.models import Outcome, TransferRequest
from paycore.ledger.service import BATCH_TRANSFERS_MAX, LedgerService
from sqlalchemy.ext.asyncio import AsyncEngine

QUEUE_CALLS_MAX = 10_000


@dataclass(frozen=True)
class _Call:
    transfers: Sequence[TransferRequest]
    merchant_id: str | None
    answer: asyncio.Future[list[Outcome]]


class Coalescer:
    """Defaults measured with `paycore bench ledger` (64 concurrent single-transfer calls, 2
    cores): one worker per shard waiting 2 ms made batches large enough that a call costs the
    server less (1,600-1,850 calls/s) than three workers waiting 1 ms (1,200/s), whose batches
    held two or three transfers and paid five round trips each; the shard's hot accounts
    serialize concurrent batches on their row locks anyway."""

    def __init__(
        self,
        service: LedgerService,
        *,
        wait_ms: float = 2.0,
        batch_transfers_max: int = BATCH_TRANSFERS_MAX,
        workers_per_shard: int = 1,
    ) -> None:
        self._service = service
        self._wait_seconds = wait_ms / 1000
        self._batch_transfers_max = batch_transfers_max
        self._workers_per_shard = workers_per_shard
        self._queues: dict[AsyncEngine, asyncio.Queue[_Call]] = {}
        self._workers: list[asyncio.Task[None]] = []

    async def post(
        self, merchant_id: str | None, transfers: Sequence[TransferRequest]
    ) -> list[Outcome]:
        # A full batch already, several shards or nothing routable: nothing to gather (the
        # size is checked first: routing a full batch would decode its thousand ids twice).
        engine = (
            None
            if len(transfers) >= self._batch_transfers_max
            else self._service.engine_for_transfers(transfers)
        )
        if engine is None:
            return (await self._service.post([(transfers, merchant_id)]))[0]
        answer: asyncio.Future[list[Outcome]] = asyncio.get_running_loop().create_future()
        await self._queue(engine).put(_Call(transfers, merchant_id, answer))
        return await answer

    async def close(self) -> None:
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers.clear()
        self._queues.clear()

    def _queue(self, engine: AsyncEngine) -> asyncio.Queue[_Call]:
        queue = self._queues.get(engine)
        if queue is None:
            queue = self._queues[engine] = asyncio.Queue(maxsize=QUEUE_CALLS_MAX)
            self._workers += [
                spawn(self._work(queue), name="ledger-coalescer")
                for _ in range(self._workers_per_shard)
            ]
        return queue

    async def _work(self, queue: asyncio.Queue[_Call]) -> None:
        while True:
            calls = [await queue.get()]
            size = len(calls[0].transfers)
            size = self._drain(queue, calls, size)
            if size < self._batch_transfers_max and self._wait_seconds > 0:
                await asyncio.sleep(self._wait_seconds)
                self._drain(queue, calls, size)
            await self._apply(calls)

    def _drain(self, queue: asyncio.Queue[_Call], calls: list[_Call], size: int) -> int:
        while not queue.empty():
            head = queue._queue[0]  # type: ignore[attr-defined]
            if size + len(head.transfers) > self._batch_transfers_max:
                break
            calls.append(queue.get_nowait())
            size += len(head.transfers)
        return size

    async def _apply(self, calls: list[_Call]) -> None:
        try:
            results = await self._service.post(
                [(call.transfers, call.merchant_id) for call in calls]
            )
        except Exception as error:  # every caller of the batch gets the batch's failure
            for call in calls:
                if not call.answer.done():
                    call.answer.set_exception(error)
            return
        for call, outcomes in zip(calls, results, strict=True):
            if not call.answer.done():
                call.answer.set_result(outcomes)
