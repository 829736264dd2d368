"""EventService's domain operations: reading a merchant's events (never imports grpc).
Writing happens in other services' transactions, through paycore.events.outbox.record_event."""

from __future__ import annotations

from paycore.errors import not_found
from paycore.events.models import Event, EventPage, TypeFilter
from paycore.events.repository import EventRepository
from paycore.storage import Shards


class EventService:
    def __init__(self, shards: Shards) -> None:
        self._shards = shards

    async def get_event(self, merchant_id: str, event_id: str) -> Event:
        async with self._shards.read(merchant_id) as connection:
            event = await EventRepository(connection).get(merchant_id, event_id)
        if event is None:
            raise not_found("event", event_id)
        return event

    async def list_events(
        self, merchant_id: str, limit: int, starting_after: str, type_filter: TypeFilter
    ) -> EventPage:
        async with self._shards.read(merchant_id) as connection:
            return await EventRepository(connection).list(
                merchant_id, limit, starting_after, type_filter
            )
