"""The jobs paycore ships; the composition root (paycore.app.build_jobs) builds and lists them.
Each is a thin adapter: the work itself lives with the data it touches, so a job here is a
declaration of its name, its interval and the one call it makes on a shard."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

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
from paycore.worker.job import ShardJob
from sqlalchemy.ext.asyncio import AsyncEngine


def outbox_publisher(publisher: EventPublisher, batch_size: int = PUBLISH_BATCH_MAX) -> ShardJob:
    """Hands committed events to the publisher (a Redis Stream), at least once."""
    return ShardJob(
        "outbox_publisher", 0.5, lambda engine: publish_pending(engine, publisher, batch_size)
    )


def idempotency_key_pruner(retention_seconds: float, batch_size: int = PRUNE_BATCH_MAX) -> ShardJob:
    """Deletes idempotency keys past their retention, never one whose request is running."""
    return ShardJob(
        "idempotency_key_pruner",
        60.0,
        lambda engine: prune_idempotency_keys(engine, retention_seconds, batch_size),
    )


def ledger_hold_expiry(ledger: LedgerService, batch_size: int = EXPIRY_SWEEP_LIMIT) -> ShardJob:
    """Voids pending ledger transfers (holds) whose timeout has passed."""
    return ShardJob(
        "ledger_hold_expiry", 1.0, lambda engine: ledger.expire_overdue_on(engine, batch_size)
    )


def executor_resume(executor: Executor, batch_size: int = RESUME_BATCH_MAX) -> ShardJob:
    """Runs the executions that are due: retries after backoff, unknown outcomes (a status
    query first), and those whose runner died mid-call (its lease ran out)."""
    return ShardJob("executor_resume", 0.5, lambda engine: executor.resume_due(engine, batch_size))


def subscription_billing(billing: Billing, batch_size: int = BATCH_MAX) -> ShardJob:
    """Bills what is due on the subscriptions' clocks: renewals, retries, trial ends,
    period-end cancels, incomplete expiries; then marks caught-up test clocks ready."""
    return ShardJob("subscription_billing", 1.0, lambda engine: billing.run(engine, batch_size))


# -- pay-out (issue 13) -------------------------------------------------------------------------


def balance_availability(
    availability: Availability, batch_size: int = AVAILABILITY_BATCH_MAX
) -> ShardJob:
    """Moves what has come due from balance_pending to balance_available (balance.available)."""
    return ShardJob(
        "balance_availability", 1.0, lambda engine: availability.run(engine, batch_size)
    )


def payout_scheduling(scheduler: Scheduler, batch_size: int = SCHEDULES_PER_RUN_MAX) -> ShardJob:
    """Makes and sends the automatic payouts of the schedules whose day has come."""
    return ShardJob("payout_scheduling", 1.0, lambda engine: scheduler.run(engine, batch_size))


def payout_tracking(tracker: PayoutTracker, batch_size: int = CHECKS_PER_RUN_MAX) -> ShardJob:
    """Asks the bank how payouts in transit (or recently paid) stand and applies it."""
    return ShardJob("payout_tracking", 1.0, lambda engine: tracker.run(engine, batch_size))


def webhook_delivery(deliverer: Deliverer) -> ShardJob:
    """Fans committed events out to webhook deliveries, records finished attempts, and starts
    the attempts that are due (paycore.webhooks.delivering)."""
    return ShardJob("webhook_delivery", 0.2, deliverer.run)


def checkout_session_sweep(
    sessions: CheckoutSessions,
    clock: Callable[[], float] = time.time,
    batch_size: int = SWEEP_BATCH_MAX,
) -> ShardJob:
    """Records checkout sessions whose payment intent succeeded (complete) and expires those
    past expires_at (their intent canceled), each with its checkout.session.* event."""

    def sweep(engine: AsyncEngine) -> Coroutine[Any, Any, int]:
        return sessions.sweep_on(engine, datetime.fromtimestamp(clock(), UTC), batch_size)

    return ShardJob("checkout_session_sweep", 1.0, sweep)
