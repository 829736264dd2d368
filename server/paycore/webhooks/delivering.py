"""The worker's side of webhooks: every run of the `webhook_delivery` job, on one shard, does
in one short transaction

  1. record the outcomes of the attempts this process finished since the last run (the
     delivery's next status and retry time, the attempt in the log, the endpoint's run of
     failures; an endpoint that answered 410 or has failed for three days is disabled, with a
     `webhook_endpoint.disabled` event);
  2. fan out: claim events not yet fanned out (`FOR UPDATE SKIP LOCKED`, bounded) and create a
     pending delivery for each enabled endpoint of the merchant that wants the type;
  3. claim due deliveries (`FOR UPDATE SKIP LOCKED`, bounded, at most a few per endpoint, none
     of an endpoint this process already has enough of in flight) by leasing them;

then, after the commit, starts one task per claimed delivery: an attempt never runs inside a
transaction. The tasks outlive the run: a slow or dead endpoint holds only its own few slots
(its per-endpoint semaphore), never the job's loop, so other endpoints' deliveries go on.

At least once: a process that dies mid-attempt leaves its deliveries leased; when the lease runs
out any worker claims them again. Outcomes are recorded in batches by the next run, so a crash
may also lose an outcome, and that delivery is attempted again. Receivers dedupe on the event
id. Times come from an injectable clock (scheduling, leases); signatures carry wall time,
which receivers check against theirs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from paycore.background import spawn
from paycore.errors import InvariantViolation
from paycore.events import Recorder
from paycore.events.models import Event
from paycore.ids import Prefix, new_merchant_id
from paycore.secret import Secret
from paycore.webhooks import repository
from paycore.webhooks.models import (
    AttemptResult,
    ClaimedDelivery,
    DeliveryStatus,
    Endpoint,
    SigningKeys,
)
from paycore.webhooks.repository import ClaimedRow, EndpointRepository, NewDelivery
from paycore.webhooks.schedule import DEFAULT_SCHEDULE, RetrySchedule
from paycore.webhooks.sealing import SecretBox
from paycore.webhooks.sender import Sender
from paycore.webhooks.signing import signature_headers
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
ENDPOINT_DISABLED = "webhook_endpoint.disabled"

FAN_OUT_BATCH_MAX = 500
CLAIM_BATCH_MAX = 500
# How long a run waits for a free slot when every slot is taken before it claims nothing.
CAPACITY_WAIT_SECONDS = 1.0
# How long a run that claimed nothing while attempts are in flight waits for one to finish:
# short, since new events or other endpoints' due deliveries may be waiting meanwhile.
SLOT_WAIT_SECONDS = 0.05
# Decrypted secrets kept (the vault's AES-GCM is cheap, but deliveries come by the thousand).
SECRET_CACHE_MAX = 10_000
# Rendered bodies kept, the latest events': an event goes to each of its merchant's endpoints,
# claimed in different runs, and rendering it (the edge's JSON of an Any) costs far more than
# sending it.
BODY_CACHE_MAX = 4096


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DeliveryLimits:
    in_flight_max: int
    """Attempts in flight in this process, all endpoints."""
    endpoint_concurrency: int
    """Attempts in flight per endpoint in this process."""
    lease: timedelta
    """How long a claimed delivery is this process's; must exceed the sender's timeout."""
    claim_batch_max: int = CLAIM_BATCH_MAX
    fan_out_batch_max: int = FAN_OUT_BATCH_MAX
    schedule: RetrySchedule = DEFAULT_SCHEDULE
    """When failed attempts are tried again, and when a delivery and its endpoint give up."""


class Deliverer:
    def __init__(
        self,
        sender: Sender,
        box: SecretBox,
        render_body: Callable[[Event, bool], bytes],
        endpoint_events: Recorder[Endpoint],
        limits: DeliveryLimits,
        clock: Clock = utc_now,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._sender = sender
        self._box = box
        self._render_body = render_body
        self._endpoint_events = endpoint_events
        self._limits = limits
        self._clock = clock
        self._wall_clock = wall_clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._claimed_per_endpoint: dict[str, int] = {}
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._outcomes: dict[AsyncEngine, list[AttemptResult]] = {}
        self._slot_freed = asyncio.Event()
        self._secrets: dict[tuple[str, bytes], Secret] = {}
        self._bodies: OrderedDict[str, bytes] = OrderedDict()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def run(self, engine: AsyncEngine) -> int:
        """One run on the shard behind `engine`: outcomes recorded + events fanned out +
        deliveries claimed (their attempts start now and finish later)."""
        if self.in_flight >= self._limits.in_flight_max:
            await self._wait_for_a_slot(CAPACITY_WAIT_SECONDS)
        outcomes = self._outcomes.pop(engine, [])
        try:
            async with engine.begin() as connection:
                await self._record(connection, outcomes)
                fanned, attempting = await self._fan_out(connection)
                claimed = attempting + await self._claim(connection, len(attempting))
        except BaseException:
            self._outcomes.setdefault(engine, [])[:0] = outcomes  # recorded by the next run
            raise
        self._start(engine, claimed)
        done = len(outcomes) + fanned + len(claimed)
        if not claimed and self.in_flight:
            # Every due delivery's endpoint is busy (or none is due): rather than have the
            # loop sleep its interval, run again as soon as an attempt finishes (bounded).
            done += await self._wait_for_a_slot(SLOT_WAIT_SECONDS)
        return done

    async def settle(self) -> None:
        """Waits for every attempt in flight to finish (its outcome waits for the next run)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, engines: Sequence[AsyncEngine], grace_seconds: float) -> None:
        """Lets the attempts in flight finish (within the grace), records their outcomes."""
        if self._tasks:
            _, unfinished = await asyncio.wait(list(self._tasks), timeout=grace_seconds)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        for engine in engines:
            outcomes = self._outcomes.pop(engine, [])
            if outcomes:
                with contextlib.suppress(Exception):
                    async with engine.begin() as connection:
                        await self._record(connection, outcomes)
        await self._sender.close()

    async def _wait_for_a_slot(self, seconds: float) -> int:
        """1 when an attempt finished within `seconds`, else 0."""
        self._slot_freed.clear()
        try:
            await asyncio.wait_for(self._slot_freed.wait(), seconds)
        except TimeoutError:
            return 0
        return 1

    async def _record(self, connection: AsyncConnection, outcomes: list[AttemptResult]) -> None:
        if not outcomes:
            return
        await repository.record_attempts(connection, outcomes)
        # The last outcome per endpoint says whether its run of failures goes on; only a
        # change of state is written (what the endpoint was at claim time tells).
        latest: dict[tuple[str, str], AttemptResult] = {}
        for outcome in outcomes:
            latest[(outcome.merchant_id, outcome.endpoint_id)] = outcome
        await repository.set_failing_since(
            connection,
            [
                (result.merchant_id, result.endpoint_id, _failed_at(result))
                for result in latest.values()
                if result.outcome.succeeded == result.endpoint_was_failing
            ],
        )
        candidates = {
            (result.merchant_id, result.endpoint_id, result.outcome.gone)
            for result in outcomes
            if not result.outcome.succeeded
        }
        disabled = await repository.disable_failing(
            connection, sorted(candidates), self._clock() - self._limits.schedule.give_up_after
        )
        for endpoint in disabled:
            logger.info("webhook endpoint %s disabled (410, or failing for 3 days)", endpoint.id)
            await EndpointRepository(connection).park_deliveries(endpoint.merchant_id, endpoint.id)
            await self._endpoint_events.record(connection, ENDPOINT_DISABLED, endpoint)

    async def _fan_out(self, connection: AsyncConnection) -> tuple[int, list[ClaimedDelivery]]:
        """The events fanned out, and the new deliveries this process attempts at once (made
        already leased: no claim needed); the others, beyond the endpoint's or the process's
        room, are made due at once for any worker's claim."""
        fanned = await repository.fan_out(connection, self._limits.fan_out_batch_max)
        now = self._clock()
        lease_until = now + self._limits.lease
        expires_at = now + self._limits.schedule.give_up_after
        room = self._limits.in_flight_max - self.in_flight
        taken = dict(self._claimed_per_endpoint)
        made: list[ClaimedRow] = []
        next_attempts: list[datetime] = []
        attempting: list[ClaimedRow] = []
        for wanted in fanned.wanted:
            delivery = replace(
                wanted,
                id=new_merchant_id(Prefix.WEBHOOK_DELIVERY, wanted.merchant_id),
                expires_at=expires_at,
            )
            made.append(delivery)
            endpoint_taken = taken.get(delivery.endpoint_id, 0)
            if room > 0 and endpoint_taken < self._limits.endpoint_concurrency:
                room -= 1
                taken[delivery.endpoint_id] = endpoint_taken + 1
                attempting.append(delivery)
                next_attempts.append(lease_until)
            else:
                next_attempts.append(now)
        await repository.insert_deliveries(
            connection,
            [
                NewDelivery(
                    row.merchant_id, row.id, row.event_id, row.endpoint_id, row.event["type"]
                )
                for row in made
            ],
            next_attempts,
            now,
            expires_at,
        )
        return fanned.events, [self._claimed(row, now) for row in attempting]

    async def _claim(self, connection: AsyncConnection, starting: int) -> list[ClaimedDelivery]:
        """Due deliveries (retries, and new ones there was no room for), leased; `starting`
        attempts are about to start besides."""
        room = self._limits.in_flight_max - self.in_flight - starting
        free = min(self._limits.claim_batch_max, room)
        if free <= 0:
            return []
        now = self._clock()
        saturated = [
            endpoint_id
            for endpoint_id, count in self._claimed_per_endpoint.items()
            if count >= self._limits.endpoint_concurrency
        ]
        # (Those just fanned out are not counted yet: an endpoint may get a few more.)
        rows = await repository.claim_due(
            connection,
            now,
            now + self._limits.lease,
            free,
            self._limits.endpoint_concurrency,
            saturated,
        )
        return [self._claimed(row, now) for row in rows]

    def _claimed(self, row: ClaimedRow, now: datetime) -> ClaimedDelivery:
        if row.expires_at is None:
            raise InvariantViolation(f"webhook delivery {row.id} has no expiry")
        return ClaimedDelivery(
            merchant_id=row.merchant_id,
            id=row.id,
            event_id=row.event_id,
            endpoint_id=row.endpoint_id,
            url=row.url,
            attempt_count=row.attempt_count,
            expires_at=row.expires_at,
            keys=self._keys(row, now),
            body=self._body(row),
            endpoint_failing=row.endpoint_failing,
        )

    def _body(self, row: ClaimedRow) -> bytes:
        body = self._bodies.get(row.event_id)
        if body is not None:
            self._bodies.move_to_end(row.event_id)
            return body
        event = row.event
        body = self._bodies[row.event_id] = self._render_body(
            Event(
                id=event["id"],
                merchant_id=event["merchant_id"],
                type=event["type"],
                object_id=event["object_id"],
                object_type=event["object_type"],
                data=dict(event["data"]),
                previous_attributes=event["previous_attributes"],
                request_id=event["request_id"],
                idempotency_key=event["idempotency_key"],
                created=int(event["created_at"].timestamp()),
            ),
            row.livemode,
        )
        if len(self._bodies) > BODY_CACHE_MAX:
            self._bodies.popitem(last=False)
        return body

    def _keys(self, row: ClaimedRow, now: datetime) -> SigningKeys:
        sealed = row.secrets
        previous = None
        if sealed.previous is not None and (
            sealed.previous_expires_at is not None and sealed.previous_expires_at > now
        ):
            previous = self._secret(row, sealed.previous)
        return SigningKeys(self._secret(row, sealed.current), previous)

    def _secret(self, row: ClaimedRow, sealed: bytes) -> Secret:
        key = (row.endpoint_id, sealed)
        secret = self._secrets.get(key)
        if secret is None:
            if len(self._secrets) >= SECRET_CACHE_MAX:
                self._secrets.clear()
            secret = self._secrets[key] = self._box.open(sealed, row.merchant_id, row.endpoint_id)
        return secret

    def _start(self, engine: AsyncEngine, claimed: list[ClaimedDelivery]) -> None:
        for delivery in claimed:
            endpoint_id = delivery.endpoint_id
            self._claimed_per_endpoint[endpoint_id] = (
                self._claimed_per_endpoint.get(endpoint_id, 0) + 1
            )
            if endpoint_id not in self._semaphores:
                self._semaphores[endpoint_id] = asyncio.Semaphore(self._limits.endpoint_concurrency)
            task = spawn(self._attempt(engine, delivery), name="webhook attempt")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _attempt(self, engine: AsyncEngine, delivery: ClaimedDelivery) -> None:
        try:
            async with self._semaphores[delivery.endpoint_id]:
                attempted_at = self._clock()
                timestamp = int(self._wall_clock())
                headers = signature_headers(
                    delivery.keys, delivery.event_id, timestamp, delivery.body
                )
                outcome = await self._sender.post(delivery.url, delivery.body, headers)
            number = delivery.attempt_count + 1
            status, next_attempt_at = self._limits.schedule.after_attempt(
                outcome, number, attempted_at, delivery.expires_at
            )
            if status is DeliveryStatus.FAILED and not outcome.gone:
                logger.info("webhook delivery %s failed for good: %s", delivery.id, outcome.error)
            self._outcomes.setdefault(engine, []).append(
                AttemptResult(
                    merchant_id=delivery.merchant_id,
                    delivery_id=delivery.id,
                    endpoint_id=delivery.endpoint_id,
                    number=number,
                    attempted_at=attempted_at,
                    outcome=outcome,
                    status=status,
                    next_attempt_at=next_attempt_at,
                    endpoint_was_failing=delivery.endpoint_failing,
                )
            )
        except Exception:
            # Its lease runs out and it is attempted again.
            logger.exception("webhook delivery %s: the attempt failed unexpectedly", delivery.id)
        finally:
            self._release(delivery.endpoint_id)

    def _release(self, endpoint_id: str) -> None:
        remaining = self._claimed_per_endpoint.get(endpoint_id, 1) - 1
        if remaining <= 0:
            self._claimed_per_endpoint.pop(endpoint_id, None)
            self._semaphores.pop(endpoint_id, None)
        else:
            self._claimed_per_endpoint[endpoint_id] = remaining
        self._slot_freed.set()


def _failed_at(result: AttemptResult) -> datetime | None:
    return None if result.outcome.succeeded else result.attempted_at
