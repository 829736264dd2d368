"""The executor's pure parts: its state machine, the breaker, the backoff."""

from __future__ import annotations

import random

import pytest
from paycore.executor.breaker import BreakerState, CircuitBreaker
from paycore.executor.machine import TRANSITIONS, IllegalTransition, check_transition
from paycore.executor.models import ExecutionState
from paycore.executor.retry import RetryPolicy

S = ExecutionState


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (S.SUCCEEDED, S.RUNNING),
        (S.FAILED, S.QUEUED),
        (S.QUEUED, S.SUCCEEDED),
        (S.RETRY_SCHEDULED, S.SUCCEEDED),
        (S.DEAD_LETTERED, S.RUNNING),
    ],
)
def test_illegal_moves_raise(current: ExecutionState, wanted: ExecutionState) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(current, wanted)


def test_final_states_have_no_way_out_but_a_requeue() -> None:
    assert TRANSITIONS[S.SUCCEEDED] == frozenset()
    assert TRANSITIONS[S.FAILED] == frozenset()
    assert TRANSITIONS[S.DEAD_LETTERED] == frozenset({S.QUEUED})
    check_transition(S.DEAD_LETTERED, S.QUEUED)
    assert set(TRANSITIONS) == set(S)


def test_the_breaker_opens_after_failures_lets_one_trial_through_and_closes() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=3, open_seconds=5.0, clock=lambda: now[0])
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert _state(breaker) is BreakerState.CLOSED
    breaker.record_failure()
    assert _state(breaker) is BreakerState.OPEN
    assert not breaker.allow()
    now[0] = 5.0
    assert breaker.allow()  # the one trial
    assert not breaker.allow()  # no second while it is out
    breaker.record_failure()
    assert _state(breaker) is BreakerState.OPEN  # a failed trial opens it again at once
    now[0] = 10.0
    assert breaker.allow()
    breaker.record_success()
    assert _state(breaker) is BreakerState.CLOSED
    assert breaker.allow() and breaker.allow()


def test_backoff_doubles_is_capped_and_jittered_within_its_step() -> None:
    policy = RetryPolicy(base_seconds=0.1, cap_seconds=1.0)
    rng = random.Random(7)
    for attempt, step in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)]:
        delays = {policy.delay(attempt, rng) for _ in range(50)}
        assert all(step / 2 <= delay <= step for delay in delays)
        assert len(delays) > 1


def _state(breaker: CircuitBreaker) -> BreakerState:
    """Read afresh each time (mypy would keep a narrowed property from an earlier assert)."""
    return breaker.state
