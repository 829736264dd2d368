"""Event domain objects: what the service, the outbox and the repository exchange."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class NewEvent:
    """An event's row before it is written (`prepare_event`), for a caller that writes it in
    a statement of its own (paycore.payment.charging)."""

    merchant_id: str
    id: str
    type: str
    object_id: str | None
    object_type: str
    """The full name of the object's proto message (a payment intent's, for example)."""
    data: dict[str, Any]
    """The object in paycore's JSON form (see paycore.events.objects)."""
    previous_attributes: dict[str, Any] | None = field(default=None, kw_only=True)
    """Stripe's `data.previous_attributes` of an `*.updated` event: the changed fields' old
    values as the REST edge renders them (paycore.events.changes); None on other events."""
    request_id: str | None = field(default=None, kw_only=True)
    """Stripe's `request.id`: the id of the API call that caused the event ("req_..."); None
    for an event a background job made, outside any call."""
    idempotency_key: str | None = field(default=None, kw_only=True)
    """Stripe's `request.idempotency_key`: that call's idempotency key, None when it had none."""


@dataclass(frozen=True)
class Event(NewEvent):
    """An event as stored: its row and creation time."""

    created: int


@dataclass(frozen=True)
class TypeFilter:
    """ListEvents' `type` or `types`: the events whose type is one of `exact` or starts with one
    of `prefixes` ("payment_intent."); both empty, every type."""

    exact: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()
    """Types the reader may not see, whatever the filter: OPERATOR_EVENT_TYPES for a merchant's
    key (paycore.events.types)."""
