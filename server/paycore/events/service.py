"""EventService's domain operations: reading a merchant's events (never imports grpc), through
the one read path (paycore.storage.reads). Writing happens in other services' transactions,
through paycore.events.outbox.record_event."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.events.models import Event, TypeFilter
from paycore.events.repository import EVENTS, events_query
from paycore.storage.reads import Cursor, Page, Reads


@dataclass(frozen=True, slots=True)
class EventService:
    _reads: Reads

    async def get_event(self, merchant_id: str, event_id: str) -> Event:
        return await self._reads.one(merchant_id, EVENTS, event_id)

    async def list_events(
        self,
        merchant_id: str,
        cursor: Cursor,
        type_filter: TypeFilter,
        object_id: str = "",
    ) -> Page[Event]:
        query = events_query(merchant_id, type_filter, object_id)
        return await self._reads.page(merchant_id, EVENTS, cursor, query)
