"""The jobs paycore ships; the composition root (paycore.app.build_jobs) builds and lists them.
Each is a thin adapter: the work itself lives with the data it touches."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from paycore.checkout.sessions import SWEEP_BATCH_MAX, CheckoutSessions
from paycore.events.publishing import PUBLISH_BATCH_MAX, EventPublisher, publish_pending
from paycore.executor.service import RESUME_BATCH_MAX, Executor
from paycore.ledger.service import EXPIRY_SWEEP_LIMIT, LedgerService
from paycore.payout.availability import BATCH_MAX as AVAILABILITY_BATCH_MAX
from paycore.payout.availability import Availability
from paycore.payout.schedules import SCHEDULES_PER_RUN_MAX, Scheduler
from paycore.payout.tracking import CHECKS_PER_RUN_MAX, PayoutTracker
from paycore.storage.idempotency_pruning import PRUNE_BATCH_MAX, prune_idempotency_keys
from paycore.subscription.billing import BATCH_MAX, Billing
from paycore.webhooks.delivering import Deliverer
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True)
class OutboxPublisher:
    """Hands committed events to the publisher (a Redis Stream), at least once."""

    publisher: EventPublisher
    batch_size: int = PUBLISH_BATCH_MAX
    name: str = "outbox_publisher"
    interval_seconds: float = 0.5

    async def run(self, engine: AsyncEngine) -> int:
        return await publish_pending(engine, self.publisher, self.batch_size)


@dataclass(frozen=True)
class IdempotencyKeyPruner:
    """Deletes idempotency keys past their retention, never one whose request is running."""

    retention_seconds: float
    batch_size: int = PRUNE_BATCH_MAX
    name: str = "idempotency_key_pruner"
    interval_seconds: float = 60.0

    async def run(self, engine: AsyncEngine) -> int:
        return await prune_idempotency_keys(engine, self.retention_seconds, self.batch_size)


@dataclass(frozen=True)
class LedgerHoldExpiry:
    """Voids pending ledger transfers (holds) whose timeout has passed."""

    ledger: LedgerService
    batch_size: int = EXPIRY_SWEEP_LIMIT
    name: str = "ledger_hold_expiry"
    interval_seconds: float = 1.0

    async def run(self, engine: AsyncEngine) -> int:
        return await self.ledger.expire_overdue_on(engine, self.batch_size)


@dataclass(frozen=True)
class ExecutorResume:
    """Runs the executions that are due: retries after backoff, unknown outcomes (a status
    query first), and those whose runner died mid-call (its lease ran out)."""

    executor: Executor
    batch_size: int = RESUME_BATCH_MAX
    name: str = "executor_resume"
    interval_seconds: float = 0.5

    async def run(self, engine: AsyncEngine) -> int:
        return await self.executor.resume_due(engine, self.batch_size)


@dataclass(frozen=True)
class SubscriptionBilling:
    """Bills what is due on the subscriptions' clocks: renewals, retries, trial ends,
    period-end cancels, incomplete expiries; then marks caught-up test clocks ready."""

    billing: Billing
    batch_size: int = BATCH_MAX
    name: str = "subscription_billing"
    interval_seconds: float = 1.0

    async def run(self, engine: AsyncEngine) -> int:
        return await self.billing.run(engine, self.batch_size)


# -- pay-out (issue 13) -------------------------------------------------------------------------


@dataclass(frozen=True)
class BalanceAvailability:
    """Moves what has come due from balance_pending to balance_available (balance.available)."""

    availability: Availability
    batch_size: int = AVAILABILITY_BATCH_MAX
    name: str = "balance_availability"
    interval_seconds: float = 1.0

    async def run(self, engine: AsyncEngine) -> int:
        return await self.availability.run(engine, self.batch_size)


@dataclass(frozen=True)
class PayoutScheduling:
    """Makes and sends the automatic payouts of the schedules whose day has come."""

    scheduler: Scheduler
    batch_size: int = SCHEDULES_PER_RUN_MAX
    name: str = "payout_scheduling"
    interval_seconds: float = 1.0

    async def run(self, engine: AsyncEngine) -> int:
        return await self.scheduler.run(engine, self.batch_size)


@dataclass(frozen=True)
class PayoutTracking:
    """Asks the bank how payouts in transit (or recently paid) stand and applies it."""

    tracker: PayoutTracker
    batch_size: int = CHECKS_PER_RUN_MAX
    name: str = "payout_tracking"
    interval_seconds: float = 1.0

    async def run(self, engine: AsyncEngine) -> int:
        return await self.tracker.run(engine, self.batch_size)


@dataclass(frozen=True)
class WebhookDelivery:
    """Fans committed events out to webhook deliveries, records finished attempts, and starts
    the attempts that are due (paycore.webhooks.delivering)."""

    deliverer: Deliverer
    name: str = "webhook_delivery"
    interval_seconds: float = 0.2

    async def run(self, engine: AsyncEngine) -> int:
        return await self.deliverer.run(engine)


@dataclass(frozen=True)
class CheckoutSessionSweep:
    """Records checkout sessions whose payment intent succeeded (complete) and expires those
    past expires_at (their intent canceled), each with its checkout.session.* event."""

    sessions: CheckoutSessions
    clock: Callable[[], float] = time.time
    batch_size: int = SWEEP_BATCH_MAX
    name: str = "checkout_session_sweep"
    interval_seconds: float = 1.0

    async def run(self, engine: AsyncEngine) -> int:
        now = datetime.fromtimestamp(self.clock(), UTC)
        return await self.sessions.sweep_on(engine, now, self.batch_size)
