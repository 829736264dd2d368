"""A declined confirmation answers as Stripe does: HTTP 402, a `card_error` with the payment
intent in it, which the SDKs raise as CardError. On gRPC the same call succeeds with the intent
in `requires_payment_method` and its `last_payment_error`: the decline is a result there."""

from __future__ import annotations

from typing import Any

from paycore.edge.errors import PAYMENT_REQUIRED, EdgeError
from paycore.errors import ErrorType

CONFIRMING_METHODS = frozenset(
    {
        "/paycore.v1.PaymentService/CreatePaymentIntent",
        "/paycore.v1.PaymentService/ConfirmPaymentIntent",
    }
)


def declined(rpc_method: str, intent: dict[str, Any]) -> EdgeError | None:
    """The 402 for an intent that this confirmation left declined, else None."""
    if rpc_method not in CONFIRMING_METHODS or intent.get("status") != "requires_payment_method":
        return None
    failure = intent.get("last_payment_error") or {}
    if not failure.get("code"):
        return None
    return EdgeError(
        status=PAYMENT_REQUIRED,
        type=ErrorType.CARD,
        code=failure["code"],
        message=failure.get("message") or "Your card was declined.",
        extra={
            "decline_code": failure.get("decline_code") or None,
            "payment_intent": intent,
        },
    )
