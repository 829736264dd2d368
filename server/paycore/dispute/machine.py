"""The dispute state machine: the only moves a dispute's status may make (every change goes
through `check_move`; the PSP's stale or repeated news is told apart by `can_move`).

    warning_needs_response ──> warning_under_review ──> warning_closed
          │   └──────────────────────────┬──────────────────^
          └─────── (escalated) ──────────┴──> needs_response ──> under_review ──> won | lost
                                                    └──────────────────────────> won | lost
"""

from __future__ import annotations

from paycore.dispute.models import Dispute, DisputeStatus
from paycore.errors import IllegalMove

S = DisputeStatus
TRANSITIONS: dict[DisputeStatus, frozenset[DisputeStatus]] = {
    S.WARNING_NEEDS_RESPONSE: frozenset(
        {S.WARNING_UNDER_REVIEW, S.WARNING_CLOSED, S.NEEDS_RESPONSE}
    ),
    S.WARNING_UNDER_REVIEW: frozenset({S.WARNING_CLOSED, S.NEEDS_RESPONSE}),
    S.WARNING_CLOSED: frozenset(),
    # Won or lost without evidence: the bank decided, or the merchant accepted (lost).
    S.NEEDS_RESPONSE: frozenset({S.UNDER_REVIEW, S.WON, S.LOST}),
    S.UNDER_REVIEW: frozenset({S.WON, S.LOST}),
    S.WON: frozenset(),
    S.LOST: frozenset(),
}
INITIAL = frozenset({S.WARNING_NEEDS_RESPONSE, S.NEEDS_RESPONSE})
CLOSED = frozenset({S.WARNING_CLOSED, S.WON, S.LOST})


class IllegalDisputeTransition(IllegalMove):
    subject = "dispute"


def can_move(current: DisputeStatus, wanted: DisputeStatus) -> bool:
    return wanted in TRANSITIONS[current]


def check_move(dispute: Dispute, wanted: DisputeStatus) -> None:
    if not can_move(dispute.status, wanted):
        raise IllegalDisputeTransition(dispute.id, dispute.status, wanted)


def opening_status(reported: DisputeStatus) -> DisputeStatus:
    """The status a dispute is created in, whatever the PSP reports first (then moved on)."""
    return S.WARNING_NEEDS_RESPONSE if reported.inquiry else S.NEEDS_RESPONSE
