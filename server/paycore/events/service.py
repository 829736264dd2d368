"""EventService's domain operations: reading a merchant's events (never imports grpc), through
the one read path (paycore.storage.reads). Writing happens in other services' transactions,
through paycore.events.outbox.record_event."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from paycore.errors import not_found
from paycore.events.models import Event, TypeFilter
from paycore.events.repository import EVENTS, events_query
from paycore.ids import HOME_LOGICAL_SHARD, PLATFORM_OWNER, Prefix, logical_shard_of
from paycore.storage.reads import Cursor, Page, Reads


@dataclass(frozen=True, slots=True)
class EventService:
    _reads: Reads

    async def get_event(
        self, merchant_id: str, event_id: str, hidden: Collection[str] = ()
    ) -> Event:
        """The event, NOT_FOUND as a missing one when its type is `hidden` from the reader
        (OPERATOR_EVENT_TYPES for a merchant's key)."""
        shard = logical_shard_of(event_id, Prefix.EVENT) if merchant_id == PLATFORM_OWNER else None
        event = await self._reads.one(merchant_id, EVENTS, event_id, logical_shard=shard)
        if event.type in hidden:
            raise not_found(EVENTS.name, event_id)
        return event

    async def list_events(
        self,
        merchant_id: str,
        cursor: Cursor,
        type_filter: TypeFilter,
        object_id: str = "",
        delivery_success: bool | None = None,
    ) -> Page[Event]:
        query = events_query(merchant_id, type_filter, object_id, delivery_success)
        shard = HOME_LOGICAL_SHARD if merchant_id == PLATFORM_OWNER else None
        return await self._reads.page(merchant_id, EVENTS, cursor, query, logical_shard=shard)
