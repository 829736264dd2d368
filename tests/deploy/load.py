"""Payments made again and again while the database underneath is in trouble (a failover, a
shard move): each with a key of its own, retried with that key while the answer is retryable,
as a client does; what came back and when, for the test to judge."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field

import grpc
from grpc import aio
from paycore.client import Paycore
from paycore.v1 import payment_pb2

GIVE_UP_SECONDS = 60.0


@dataclass
class Payer:
    """Pays again and again with fresh keys, retrying a key while the answer is retryable."""

    client: Paycore
    payment_method: str
    name: str
    retryable: frozenset[grpc.StatusCode]
    amount: int = 700
    call_timeout_seconds: float = 10.0
    retry_pause_seconds: float = 0.05
    confirmed: dict[str, str] = field(default_factory=dict)
    succeeded_at: list[float] = field(default_factory=list)
    """When each confirmed payment was answered."""
    attempt_started_at: list[float] = field(default_factory=list)
    """When the attempt that confirmed it began (beside `succeeded_at`): a payment answered
    after an outage may have been sent before it."""
    refused_at: list[float] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        sequence = 0
        while not stop.is_set():
            key = f"{self.name}-{sequence}"
            intent, started_at = await self._pay(key)
            assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, intent
            self.confirmed[key] = intent.id
            self.succeeded_at.append(time.monotonic())
            self.attempt_started_at.append(started_at)
            sequence += 1

    def first_answer_sent_after(self, start: float) -> float | None:
        """When the first payment whose confirming attempt began after `start` was answered."""
        answered = [
            at
            for began, at in zip(self.attempt_started_at, self.succeeded_at, strict=True)
            if began > start
        ]
        return min(answered, default=None)

    async def _pay(self, key: str) -> tuple[payment_pb2.PaymentIntent, float]:
        give_up_at = time.monotonic() + GIVE_UP_SECONDS
        while True:
            started_at = time.monotonic()
            try:
                intent = await self.client.payments.CreatePaymentIntent(
                    payment_pb2.CreatePaymentIntentRequest(
                        amount=self.amount,
                        currency="usd",
                        payment_method=self.payment_method,
                        confirm=True,
                    ),
                    metadata=(("idempotency-key", key),),
                    timeout=self.call_timeout_seconds,
                )
                return intent, started_at
            except aio.AioRpcError as error:
                if error.code() not in self.retryable or time.monotonic() > give_up_at:
                    raise
                self.refused_at.append(time.monotonic())
                await asyncio.sleep(self.retry_pause_seconds)

    def longest_gap(self, start: float, end: float) -> float:
        times = [start, *(at for at in self.succeeded_at if start < at < end), end]
        return max(later - earlier for earlier, later in itertools.pairwise(times))
