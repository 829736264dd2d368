"""A circuit breaker in front of the PSP: after `failure_threshold` failures in a row it opens
and calls fail fast (nothing is sent) for `open_seconds`; then one trial call goes through
(half-open): success closes it, failure opens it again.

One per mode per process (`Breakers`): test-mode merchants reach the PSP's failure cards (the
simulator's 4000000000009839 answers HTTP 500 on purpose), and a breaker they shared with live
merchants would let a test integration stop live payments. Both modes call the one PSP
endpoint (`PAYCORE_PSP_URL`), so a breaker per mode is one per endpoint and mode."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Mode(StrEnum):
    """The mode of the merchant an execution belongs to: what picks its breaker."""

    TEST = "test"
    LIVE = "live"


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int = 5,
        open_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failure_threshold
        self._open_seconds = open_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at < self._open_seconds:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def seconds_until_trial(self) -> float:
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self._open_seconds - self._clock())

    def allow(self) -> bool:
        """Whether a call may go to the PSP now (half-open lets exactly one through)."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN or self._trial_in_flight:
            return False
        self._trial_in_flight = True
        return True

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._trial_in_flight or self._failures >= self._threshold:
            self._opened_at = self._clock()
        self._trial_in_flight = False


class Breakers:
    """A `CircuitBreaker` per `Mode`, alike, each opened only by its own mode's calls."""

    def __init__(self, make: Callable[[], CircuitBreaker] = CircuitBreaker) -> None:
        self._by_mode = {mode: make() for mode in Mode}

    def of(self, mode: Mode) -> CircuitBreaker:
        return self._by_mode[mode]

    def items(self) -> list[tuple[Mode, CircuitBreaker]]:
        return list(self._by_mode.items())

    def all_open(self) -> bool:
        """Whether no mode's calls may go out now (half-open counts as not open)."""
        return all(breaker.state is BreakerState.OPEN for breaker in self._by_mode.values())
