"""A declined confirmation answers as Stripe does: HTTP 402, a `card_error` with the payment
intent (or the setup intent) in it, which the SDKs raise as CardError (`error.payment_intent`,
`error.setup_intent`). On gRPC the same call succeeds with the intent in
`requires_payment_method` and its `last_payment_error` (`last_setup_error`): the decline is a
result there. The error also carries the declined payment method (`error.payment_method`, the
object, as Stripe's: its save-a-card samples read `err.raw.payment_method.card.last4`)."""

from __future__ import annotations

from typing import Any

from paycore.edge.errors import PAYMENT_REQUIRED, EdgeError
from paycore.edge.expand import Expander, Fetch
from paycore.errors import ErrorType

# The confirming methods: the error's field naming the intent, the intent's field of the decline.
CONFIRMING_METHODS = {
    "/paycore.v1.PaymentService/CreatePaymentIntent": ("payment_intent", "last_payment_error"),
    "/paycore.v1.PaymentService/ConfirmPaymentIntent": ("payment_intent", "last_payment_error"),
    "/paycore.v1.PaymentService/CreateSetupIntent": ("setup_intent", "last_setup_error"),
    "/paycore.v1.PaymentService/ConfirmSetupIntent": ("setup_intent", "last_setup_error"),
}


def declined(rpc_method: str, intent: dict[str, Any]) -> EdgeError | None:
    """The 402 for an intent that this confirmation left declined, else None."""
    fields = CONFIRMING_METHODS.get(rpc_method)
    if fields is None or intent.get("status") != "requires_payment_method":
        return None
    named, last_error = fields
    failure = intent.get(last_error) or {}
    if not failure.get("code"):
        return None
    return EdgeError(
        status=PAYMENT_REQUIRED,
        type=ErrorType.CARD,
        code=failure["code"],
        message=failure.get("message") or "Your card was declined.",
        extra={
            "decline_code": failure.get("decline_code") or None,
            "charge": failure.get("charge") or None,
            named: intent,
            "payment_method": intent.get("payment_method"),
        },
    )


async def with_payment_method(problem: EdgeError, expander: Expander, fetch: Fetch) -> None:
    """The decline's `payment_method` id replaced by its object, read with the caller's
    credentials; left out when they may not read it."""
    try:
        await expander.expand(problem.extra, ["payment_method"], fetch)
    except EdgeError:
        problem.extra.pop("payment_method")
