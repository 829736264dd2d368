"""Assessments stored behind the answer: the in-process scoring path hands an assessment over
and returns; a worker writes what has gathered, one multi-row INSERT per physical shard, so a
payment does not wait for the write (reviews, which the payment flow acts on, are written
before the answer).

Bounded: with `queue_max` assessments waiting, `submit` refuses and the caller writes its own.
A batch that fails is retried (capped backoff) up to `attempts_max` times, then dropped and
counted (`paycore_fraud_assessments_dropped_total`): assessments are the audit trail and the
next training's rows, never money. `close` (the platform's shutdown) writes what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from paycore.background import spawn
from paycore.fraud.metrics import FraudMetrics
from paycore.fraud.models import Assessment
from paycore.fraud.repository import insert_assessments
from paycore.storage import Shards
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)


class AssessmentWriter:
    def __init__(
        self,
        shards: Shards,
        metrics: FraudMetrics,
        *,
        batch_max: int = 500,
        queue_max: int = 20_000,
        attempts_max: int = 5,
    ) -> None:
        self._shards = shards
        self._metrics = metrics
        self._batch_max = batch_max
        self._queue_max = queue_max
        self._attempts_max = attempts_max
        self._pending: dict[AsyncEngine, list[Assessment]] = {}
        self._waiting = 0
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._worker: asyncio.Task[None] | None = None

    def submit(self, assessment: Assessment) -> bool:
        """Queues the assessment; False when the queue is full (write it yourself)."""
        if self._waiting >= self._queue_max:
            return False
        engine = self._shards.engine_for_merchant(assessment.merchant_id)
        self._pending.setdefault(engine, []).append(assessment)
        self._waiting += 1
        self._idle.clear()
        self._wakeup.set()
        if self._worker is None:
            self._worker = spawn(self._run(), name="fraud assessment writer")
        return True

    async def flush(self) -> None:
        """Returns once everything submitted so far is written (or dropped)."""
        await self._idle.wait()

    async def close(self) -> None:
        await self.flush()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                engine, queued = next(iter(self._pending.items()))
                batch, rest = queued[: self._batch_max], queued[self._batch_max :]
                if rest:
                    self._pending[engine] = rest
                else:
                    del self._pending[engine]
                await self._write(engine, batch)
                self._waiting -= len(batch)
            self._idle.set()

    async def _write(self, engine: AsyncEngine, batch: list[Assessment]) -> None:
        left = batch
        for attempt in range(self._attempts_max):
            # Routed again on every try: a logical shard may have moved meanwhile
            # (paycore.storage.moves), and its rows then belong on its new database.
            by_engine: dict[AsyncEngine, list[Assessment]] = {}
            for assessment in left:
                current = self._shards.engine_for_merchant(assessment.merchant_id)
                by_engine.setdefault(current, []).append(assessment)
            try:
                for current in list(by_engine):
                    # One executemany, all or none on its own: no BEGIN and COMMIT (issue 17).
                    async with self._shards.autocommit(current).connect() as connection:
                        await insert_assessments(connection, by_engine[current])
                    del by_engine[current]
                return
            except Exception:  # a shard that is briefly away: retry, never lose the worker
                left = [assessment for part in by_engine.values() for assessment in part]
                logger.exception(
                    "writing %d fraud assessments failed (try %d)", len(left), attempt + 1
                )
                await asyncio.sleep(min(0.05 * 2**attempt, 2.0))
        self._metrics.assessments_dropped.inc(len(left))
