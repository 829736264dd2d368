"""When a failed attempt is tried again (the schedule of Standard Webhooks/svix: at once, 5 s,
5 min, 30 min, 2 h, 5 h, 10 h, then every 10 h) and when a delivery gives up: the last attempt
is made when three days have passed since the delivery was created (`expires_at`), and if that
one fails too the delivery has failed. An endpoint that has failed every attempt for three days
is then disabled (delivering.py). Both are settings (PAYCORE_WEBHOOK_RETRY_SCHEDULE_SECONDS,
PAYCORE_WEBHOOK_GIVE_UP_SECONDS), so that a test from outside can see a whole schedule run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from paycore.webhooks.models import DeliveryStatus, Outcome

RETRY_DELAYS_SECONDS = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600)
GIVE_UP_AFTER = timedelta(days=3)
# A Retry-After further out than this is taken as this (the schedule's longest step).
RETRY_AFTER_MAX_SECONDS = 10 * 3600


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    delays_seconds: tuple[int, ...] = RETRY_DELAYS_SECONDS
    """The wait after the 1st, 2nd, ... failure in a row; the last repeats."""
    give_up_after: timedelta = GIVE_UP_AFTER
    """How long after its creation a delivery is last attempted; an endpoint failing every
    attempt this long is disabled."""

    def retry_delay(self, failed_attempts: int) -> timedelta:
        """The wait after the `failed_attempts`-th failure in a row (1 for the first)."""
        step = min(max(failed_attempts, 1), len(self.delays_seconds)) - 1
        return timedelta(seconds=self.delays_seconds[step])

    def after_attempt(
        self, outcome: Outcome, number: int, attempted_at: datetime, expires_at: datetime
    ) -> tuple[DeliveryStatus, datetime | None]:
        """The delivery's status after its `number`-th attempt, and when the next one is due."""
        if outcome.succeeded:
            return DeliveryStatus.SUCCEEDED, None
        if outcome.gone:
            return DeliveryStatus.FAILED, None
        delay = self.retry_delay(number)
        if outcome.retry_after_seconds:
            longest = max(RETRY_AFTER_MAX_SECONDS, max(self.delays_seconds))
            honoured = timedelta(seconds=min(outcome.retry_after_seconds, longest))
            delay = max(delay, honoured)
        if attempted_at >= expires_at:
            return DeliveryStatus.FAILED, None
        return DeliveryStatus.PENDING, min(attempted_at + delay, expires_at)


DEFAULT_SCHEDULE = RetrySchedule()
