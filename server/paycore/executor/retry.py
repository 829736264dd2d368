"""When a transient PSP failure is tried again: capped exponential backoff with jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass

_RANDOM = random.Random()


@dataclass(frozen=True)
class RetryPolicy:
    # Requests (not status queries) an execution may send before it is dead-lettered.
    max_attempts: int = 10
    base_seconds: float = 0.1
    cap_seconds: float = 60.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the `attempt`-th failure (1-based): the exponential step,
        half of it fixed and half random ("equal jitter"), so retries spread out but never
        come back at once."""
        step = min(self.cap_seconds, self.base_seconds * 2.0 ** (attempt - 1))
        return step / 2 + (rng or _RANDOM).uniform(0, step / 2)
