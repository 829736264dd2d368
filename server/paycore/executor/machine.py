"""The execution state machine: the only moves an execution may make. Anything else is a bug
and raises, so it can never be written.

    queued ──> running ──> succeeded | failed | dead_lettered
    queued ──> failed      (withdrawn by its owner before any attempt: a canceled payout)
                 │  ^
                 v  │
       retry_scheduled / unknown_outcome          dead_lettered ──(requeue)──> queued
"""

from __future__ import annotations

from paycore.errors import PaycoreError
from paycore.executor.models import ExecutionState

S = ExecutionState
TRANSITIONS: dict[ExecutionState, frozenset[ExecutionState]] = {
    S.QUEUED: frozenset({S.RUNNING, S.FAILED}),
    S.RUNNING: frozenset(
        {S.SUCCEEDED, S.FAILED, S.RETRY_SCHEDULED, S.UNKNOWN_OUTCOME, S.DEAD_LETTERED}
    ),
    S.RETRY_SCHEDULED: frozenset({S.RUNNING}),
    # Also the state of a running execution whose runner vanished (its lease ran out).
    S.UNKNOWN_OUTCOME: frozenset({S.RUNNING}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.DEAD_LETTERED: frozenset({S.QUEUED}),
}


class IllegalTransition(PaycoreError):
    def __init__(self, current: ExecutionState, wanted: ExecutionState) -> None:
        super().__init__(f"an execution cannot move from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


def check_transition(current: ExecutionState, wanted: ExecutionState) -> None:
    if wanted not in TRANSITIONS[current]:
        raise IllegalTransition(current, wanted)
