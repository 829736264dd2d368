"""The payment intent state machine: the only moves an intent's status may make. Every change
of status goes through `check_move` (PayInRepository.move_intent calls it), so an illegal one
raises before it can be written, a bug answered INTERNAL.

    requires_payment_method <──> requires_confirmation      (a method given, or blocked)
          │   ^                        │
          v   │ (declined, blocked)    v
          processing <─────────────────┘
          │   │   └──> requires_capture ──(capture / void)──> processing
          │   ├──> succeeded
          │   └──> requires_action ──(confirmed again, authenticated)──> processing
          │            └──> requires_payment_method (blocked) | canceled
          │                 | requires_confirmation (updated: payment method, amount, currency)
          └──> canceled <── requires_payment_method | requires_confirmation

A request that finds the intent in the wrong state for its action is the caller's mistake,
not a bug: `require` answers it with PAYMENT_INTENT_UNEXPECTED_STATE.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from paycore.errors import ApiError, IllegalMove, InvariantViolation, Reason
from paycore.payment.models import Intent, IntentStatus

S = IntentStatus
TRANSITIONS: dict[IntentStatus, frozenset[IntentStatus]] = {
    # A confirmation the fraud check blocks leaves it (or puts it back) here; an update that
    # gives a payment method moves it on.
    S.REQUIRES_PAYMENT_METHOD: frozenset(
        {S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_CONFIRMATION, S.PROCESSING, S.CANCELED}
    ),
    S.REQUIRES_CONFIRMATION: frozenset({S.REQUIRES_PAYMENT_METHOD, S.PROCESSING, S.CANCELED}),
    # The PSP answered (declined, authorized, charged, voided, the card must authenticate),
    # or a held review was rejected.
    S.PROCESSING: frozenset(
        {S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_CAPTURE, S.SUCCEEDED, S.CANCELED, S.REQUIRES_ACTION}
    ),
    # 3-D Secure: confirmed again (the charge goes on with the buyer's authentication), that
    # confirmation blocked by the fraud check, canceled, or updated with another payment
    # method, amount or currency (the authentication was not for them: confirm again).
    S.REQUIRES_ACTION: frozenset(
        {S.PROCESSING, S.REQUIRES_PAYMENT_METHOD, S.CANCELED, S.REQUIRES_CONFIRMATION}
    ),
    # A capture or a void runs at the PSP first (processing).
    S.REQUIRES_CAPTURE: frozenset({S.PROCESSING}),
    S.SUCCEEDED: frozenset(),
    S.CANCELED: frozenset(),
}
INITIAL = frozenset({S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_CONFIRMATION, S.PROCESSING})
"""The statuses an intent is created in (processing: created and confirmed in one step)."""

# The statuses each request's action starts from.
CONFIRMABLE = frozenset({S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_CONFIRMATION, S.REQUIRES_ACTION})
UPDATABLE = frozenset({S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_CONFIRMATION, S.REQUIRES_ACTION})
"""Stripe: an intent changes until it is confirmed."""
CAPTURABLE = frozenset({S.REQUIRES_CAPTURE})
CANCELABLE = frozenset(
    {S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_CONFIRMATION, S.REQUIRES_CAPTURE, S.REQUIRES_ACTION}
)


class IllegalIntentTransition(IllegalMove):
    subject = "payment intent"


def check_move(intent: Intent, wanted: IntentStatus) -> None:
    if wanted not in TRANSITIONS[intent.status]:
        raise IllegalIntentTransition(intent.id, intent.status, wanted)


def unconfirmed(payment_method_id: str | None) -> IntentStatus:
    """The status an intent is created in when it is not confirmed at once:
    requires_confirmation with a payment method, else requires_payment_method."""
    return S.REQUIRES_CONFIRMATION if payment_method_id else S.REQUIRES_PAYMENT_METHOD


def check_initial(intent_id: str, status: IntentStatus) -> None:
    if status not in INITIAL:
        raise InvariantViolation(f"payment intent {intent_id} cannot be created {status}")


def require(intent: Intent, action: str, expected: frozenset[IntentStatus]) -> None:
    """PAYMENT_INTENT_UNEXPECTED_STATE unless the intent is in one of `expected`."""
    if intent.status not in expected:
        raise unexpected(intent, action, expected)


def unexpected(intent: Intent, action: str, expected: frozenset[IntentStatus]) -> ApiError:
    return unexpected_state(Reason.PAYMENT_INTENT_UNEXPECTED_STATE, intent.status, action, expected)


def unexpected_state(
    reason: Reason, status: StrEnum, action: str, expected: Iterable[StrEnum]
) -> ApiError:
    """`reason`, an intent's or a setup's X_UNEXPECTED_STATE (naming `id`): the object is in
    `status`, and `action` needs it in one of `expected` (named in alphabetical order)."""
    return ApiError(
        reason,
        param="id",
        status=status.value,
        action=action,
        expected=", ".join(sorted(each.value for each in expected)),
    )
