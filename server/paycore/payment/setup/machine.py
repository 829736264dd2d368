"""The SetupIntent state machine: the only moves a setup's status may make. Every change of
status goes through `check_move` (SetupRepository.move calls it), so an illegal one raises
before it is written, a bug answered INTERNAL.

    requires_payment_method <──> requires_confirmation
          │      ^    ^                  │
          │      │    └─ (declined) ─┐   │
          v      │                   │   v
          processing <───────────────┴───┘
          │   └──> succeeded
          └──> requires_action ──> canceled <── requires_payment_method | requires_confirmation
                     ├──(confirmed again, authenticated)──> processing
                     └──(updated with another payment method)──> requires_confirmation

A request that finds the setup in the wrong state for its action is the caller's mistake:
`require` answers it with SETUP_INTENT_UNEXPECTED_STATE.
"""

from __future__ import annotations

from paycore.errors import IllegalMove, Reason
from paycore.payment.machine import unexpected_state
from paycore.payment.models import SetupIntent, SetupStatus

S = SetupStatus
TRANSITIONS: dict[SetupStatus, frozenset[SetupStatus]] = {
    S.REQUIRES_PAYMENT_METHOD: frozenset({S.REQUIRES_CONFIRMATION, S.PROCESSING, S.CANCELED}),
    S.REQUIRES_CONFIRMATION: frozenset({S.REQUIRES_PAYMENT_METHOD, S.PROCESSING, S.CANCELED}),
    # The PSP answered: verified, declined (back for another payment method), or the card
    # must authenticate first.
    S.PROCESSING: frozenset({S.SUCCEEDED, S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_ACTION}),
    # 3-D Secure: confirmed again (the verification goes on with the buyer's authentication),
    # or updated with another payment method (the next confirmation authenticates afresh).
    S.REQUIRES_ACTION: frozenset({S.PROCESSING, S.CANCELED, S.REQUIRES_CONFIRMATION}),
    S.SUCCEEDED: frozenset(),
    S.CANCELED: frozenset(),
}
INITIAL = frozenset({S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_CONFIRMATION})

CONFIRMABLE = frozenset({S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_CONFIRMATION, S.REQUIRES_ACTION})
CANCELABLE = frozenset({S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_CONFIRMATION, S.REQUIRES_ACTION})
UPDATABLE = frozenset({S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_CONFIRMATION, S.REQUIRES_ACTION})


class IllegalSetupTransition(IllegalMove):
    subject = "setup intent"


def check_move(setup: SetupIntent, wanted: SetupStatus) -> None:
    if wanted not in TRANSITIONS[setup.status]:
        raise IllegalSetupTransition(setup.id, setup.status, wanted)


def require(setup: SetupIntent, action: str, expected: frozenset[SetupStatus]) -> None:
    """SETUP_INTENT_UNEXPECTED_STATE unless the setup is in one of `expected`."""
    if setup.status not in expected:
        reason = Reason.SETUP_INTENT_UNEXPECTED_STATE
        raise unexpected_state(reason, setup.status, action, expected)
