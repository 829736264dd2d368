"""EventService over gRPC: request -> checks (requests.py) -> domain call -> message
(messages.py), nothing more. The webhook methods (endpoints, deliveries) are paycore.webhooks':
`register` joins its WebhookServicer to EventServicer as one service."""

from __future__ import annotations

from dataclasses import dataclass

from grpc import aio
from paycore import validation
from paycore.events.service import EventService
from paycore.events.servicer.messages import event_json, event_message
from paycore.events.servicer.requests import hidden_types, type_filter
from paycore.ids import PLATFORM_OWNER, Prefix
from paycore.runtime.context import current_call
from paycore.runtime.servicing import (
    Context,
    add_servicer,
    cursor_of,
    joined,
    page_response,
)
from paycore.v1 import event_pb2, event_pb2_grpc
from paycore.webhooks.servicer import WebhookServicer

OBJECT_ID_LENGTH_MAX = 64


def register(server: aio.Server, service: EventService, webhooks: WebhookServicer) -> str:
    """Adds EventService to `server`, its webhook methods served by `webhooks`; returns its full
    name."""
    add = event_pb2_grpc.add_EventServiceServicer_to_server
    return add_servicer(server, add, joined(EventServicer(service), webhooks))


@dataclass(frozen=True, slots=True)
class EventServicer:
    """EventService's events (its webhook methods: paycore.webhooks' WebhookServicer)."""

    _service: EventService

    async def GetEvent(
        self, request: event_pb2.GetEventRequest, context: Context
    ) -> event_pb2.Event:
        merchant_id = _owner()
        event_id = validation.object_id("id", request.id, Prefix.EVENT)
        hidden = hidden_types(_is_operator())
        return event_message(await self._service.get_event(merchant_id, event_id, hidden))

    async def ListEvents(
        self, request: event_pb2.ListEventsRequest, context: Context
    ) -> event_pb2.ListEventsResponse:
        merchant_id, cursor = _owner(), cursor_of(request, Prefix.EVENT)
        object_id = validation.text("object_id", request.object_id, maximum=OBJECT_ID_LENGTH_MAX)
        types = type_filter(request.type, request.types, operator=_is_operator())
        delivered = request.delivery_success if request.HasField("delivery_success") else None
        page = await self._service.list_events(merchant_id, cursor, types, object_id, delivered)
        return page_response(event_pb2.ListEventsResponse, page, event_message)


def _owner() -> str:
    """Whose events are read: the caller's merchant, or for an operator naming none, the
    platform's own (`reconciliation.run.completed`, which no caller could read)."""
    call = current_call()
    if call.caller is not None and call.caller.is_operator and call.caller.merchant_id is None:
        return PLATFORM_OWNER
    return call.require_merchant()


def _is_operator() -> bool:
    caller = current_call().caller
    return caller is not None and caller.is_operator


__all__ = ["EventServicer", "event_json", "event_message", "register"]
