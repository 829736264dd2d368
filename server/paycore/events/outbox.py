"""Writing an event: in the caller's transaction, beside the change it describes (docs/design.md,
"Events and background work"). The change and its event commit together or not at all; the
outbox publisher (paycore.events.publishing) hands committed events on afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf.message import Message
from paycore.events.models import NewEvent
from paycore.events.objects import render
from paycore.events.repository import EventRepository
from paycore.events.types import is_event_type
from paycore.ids import Prefix, new_id, remembered_logical_shard_of
from paycore.runtime.context import call_or_none
from sqlalchemy.ext.asyncio import AsyncConnection


class UnknownEventType(ValueError):
    """A programmer error: the type is not in paycore.events.types.EVENT_TYPES."""


def prepare_event(
    merchant_id: str,
    event_type: str,
    data: Message,
    *,
    object_id: str | None = None,
    logical_shard: int | None = None,
    previous_attributes: dict[str, Any] | None = None,
) -> NewEvent:
    """What `record_event` writes, without writing it; the caller writes it inside the
    transaction of the change it describes."""
    if not is_event_type(event_type):
        raise UnknownEventType(f"{event_type!r} is not in the event catalogue")
    if logical_shard is None:
        logical_shard = remembered_logical_shard_of(merchant_id, Prefix.ACCOUNT)
    event_id = new_id(Prefix.EVENT, logical_shard)
    object_type, rendered = render(data)
    if object_id is None:
        object_id = str(rendered.get("id") or "") or None
    call = call_or_none()  # None in a background job: a worker's loop, a task spawned alone
    return NewEvent(
        merchant_id,
        event_id,
        event_type,
        object_id,
        object_type,
        rendered,
        previous_attributes=previous_attributes,
        request_id=None if call is None else call.request_id,
        idempotency_key=None if call is None else call.idempotency_key,
    )


async def record_event(
    connection: AsyncConnection,
    merchant_id: str,
    event_type: str,
    data: Message,
    *,
    object_id: str | None = None,
    logical_shard: int | None = None,
    previous_attributes: dict[str, Any] | None = None,
) -> str:
    """Records that `data` (the object right after the change) underwent `event_type`; returns
    the new event's id. Writes only through `connection`, inside the caller's transaction, which
    must be on the merchant's shard. `object_id` defaults to the message's `id` field.
    `logical_shard` is for an owner that is not a merchant (reconciliation's "platform").
    `previous_attributes`: an update's changed fields' old values (paycore.events.changes)."""
    event = prepare_event(
        merchant_id,
        event_type,
        data,
        object_id=object_id,
        logical_shard=logical_shard,
        previous_attributes=previous_attributes,
    )
    await EventRepository(connection).insert_many([event])
    return event.id


async def record_prepared(connection: AsyncConnection, events: Sequence[NewEvent]) -> None:
    """Writes events `prepare_event` made, in one round trip (a batch whose events come from
    more than one renderer: paycore.payment.events' payment.created with its orders')."""
    await EventRepository(connection).insert_many(events)
