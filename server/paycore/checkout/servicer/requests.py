"""CheckoutService requests -> checked checkout dataclasses; each failure an ApiError naming
the field, raised before anything changes."""

from __future__ import annotations

import time

from paycore import validation
from paycore.checkout.models import LineItem, NewSession, SessionStatus
from paycore.errors import ApiError, Reason, invalid
from paycore.ids import Prefix
from paycore.iso import amount_max
from paycore.v1 import checkout_pb2

LINE_ITEMS_MAX = 100
QUANTITY_MAX = 1000
NAME_LENGTH_MAX = 250
EXPIRY_SECONDS_MIN = 30 * 60
EXPIRY_SECONDS_MAX = 24 * 3600
"""expires_at is 30 minutes to 24 hours ahead, as Stripe's."""
STATUSES: dict[int, SessionStatus | None] = {
    checkout_pb2.CHECKOUT_SESSION_STATUS_UNSPECIFIED: None,
    checkout_pb2.CHECKOUT_SESSION_STATUS_OPEN: SessionStatus.OPEN,
    checkout_pb2.CHECKOUT_SESSION_STATUS_COMPLETE: SessionStatus.COMPLETE,
    checkout_pb2.CHECKOUT_SESSION_STATUS_EXPIRED: SessionStatus.EXPIRED,
}


def new_session(
    request: checkout_pb2.CreateCheckoutSessionRequest, now: float | None = None
) -> NewSession:
    currency = validation.currency("currency", request.currency)
    items = line_items(request, currency)
    if items and request.amount:
        raise invalid("amount", "give either line_items or amount, not both")
    total = (
        sum(item.amount_total for item in items)
        if items
        else validation.amount("amount", request.amount, currency)
    )
    if total > amount_max(currency):
        raise ApiError(
            Reason.AMOUNT_TOO_LARGE,
            param="line_items",
            maximum=amount_max(currency),
            currency=currency,
        )
    customer = validation.object_id("customer", request.customer, Prefix.CUSTOMER, required=False)
    email = validation.email("customer_email", request.customer_email, required=False)
    if customer and email:
        raise invalid("customer_email", "give either customer or customer_email, not both")
    return NewSession(
        amount_total=total,
        currency=currency,
        line_items=items,
        customer_id=customer or None,
        customer_email=email,
        success_url=validation.url("success_url", request.success_url),
        cancel_url=validation.url("cancel_url", request.cancel_url),
        expires_at=expires_at(request.expires_at, time.time() if now is None else now),
        description=validation.description(request.description),
        metadata=validation.metadata("metadata", request.metadata),
    )


def line_items(
    request: checkout_pb2.CreateCheckoutSessionRequest, currency: str
) -> tuple[LineItem, ...]:
    if len(request.line_items) > LINE_ITEMS_MAX:
        raise invalid("line_items", f"at most {LINE_ITEMS_MAX} items")
    items = []
    for index, item in enumerate(request.line_items):
        param = f"line_items[{index}]"
        quantity = item.quantity or 1
        if not 1 <= quantity <= QUANTITY_MAX:
            raise invalid(f"{param}.quantity", f"must be 1 to {QUANTITY_MAX}")
        items.append(
            LineItem(
                name=validation.text(
                    f"{param}.name", item.name, maximum=NAME_LENGTH_MAX, required=True
                ),
                unit_amount=validation.amount(f"{param}.unit_amount", item.unit_amount, currency),
                quantity=quantity,
            )
        )
    return tuple(items)


def expires_at(value: int, now: float) -> int:
    if value == 0:
        return int(now) + EXPIRY_SECONDS_MAX
    if not now + EXPIRY_SECONDS_MIN <= value <= now + EXPIRY_SECONDS_MAX:
        raise invalid("expires_at", "must be 30 minutes to 24 hours from now (unix seconds)")
    return value


def session_id(value: str) -> str:
    return validation.object_id("id", value, Prefix.CHECKOUT_SESSION)


def status_filter(value: int) -> SessionStatus | None:
    validation.enum_value("status", value, STATUSES)
    return STATUSES[value]
