"""EventService over gRPC: request -> checks -> domain call -> response, nothing more.

Webhook endpoints and deliveries are a later issue: their methods answer UNIMPLEMENTED
(METHOD_NOT_IMPLEMENTED) until then, while the service's reads are served."""

from __future__ import annotations

from typing import Any, NoReturn

from google.protobuf.message import Message
from grpc import aio
from paycore import validation
from paycore.errors import ApiError, Reason
from paycore.events.service import EventService
from paycore.events.servicer.messages import event_message
from paycore.events.servicer.requests import type_filter
from paycore.ids import Prefix
from paycore.runtime.context import current_call
from paycore.runtime.listing import cursor_of, page_response
from paycore.v1 import event_pb2, event_pb2_grpc

Context = aio.ServicerContext[Any, Any]
# The methods that answer METHOD_NOT_IMPLEMENTED until the webhook issue builds them.
NOT_BUILT = frozenset(
    {
        "CreateWebhookEndpoint",
        "GetWebhookEndpoint",
        "ListWebhookEndpoints",
        "UpdateWebhookEndpoint",
        "DeleteWebhookEndpoint",
        "ListDeliveries",
    }
)


def register(server: aio.Server, service: EventService) -> str:
    """Adds EventService to `server`; returns its full name."""
    event_pb2_grpc.add_EventServiceServicer_to_server(EventServicer(service), server)
    return str(event_pb2.DESCRIPTOR.services_by_name["EventService"].full_name)


class EventServicer(event_pb2_grpc.EventServiceServicer):
    def __init__(self, service: EventService) -> None:
        self._service = service

    async def GetEvent(
        self, request: event_pb2.GetEventRequest, context: Context
    ) -> event_pb2.Event:
        merchant_id = current_call().require_merchant()
        event_id = validation.object_id("id", request.id, Prefix.EVENT)
        return event_message(await self._service.get_event(merchant_id, event_id))

    async def ListEvents(
        self, request: event_pb2.ListEventsRequest, context: Context
    ) -> event_pb2.ListEventsResponse:
        merchant_id = current_call().require_merchant()
        cursor = cursor_of(request, Prefix.EVENT)
        page = await self._service.list_events(merchant_id, cursor, type_filter(request.type))
        return page_response(event_pb2.ListEventsResponse, page, event_message)

    async def CreateWebhookEndpoint(self, request: Message, context: Context) -> NoReturn:
        _not_implemented("CreateWebhookEndpoint")

    async def GetWebhookEndpoint(self, request: Message, context: Context) -> NoReturn:
        _not_implemented("GetWebhookEndpoint")

    async def ListWebhookEndpoints(self, request: Message, context: Context) -> NoReturn:
        _not_implemented("ListWebhookEndpoints")

    async def UpdateWebhookEndpoint(self, request: Message, context: Context) -> NoReturn:
        _not_implemented("UpdateWebhookEndpoint")

    async def DeleteWebhookEndpoint(self, request: Message, context: Context) -> NoReturn:
        _not_implemented("DeleteWebhookEndpoint")

    async def ListDeliveries(self, request: Message, context: Context) -> NoReturn:
        _not_implemented("ListDeliveries")


def _not_implemented(method: str) -> NoReturn:
    raise ApiError(Reason.METHOD_NOT_IMPLEMENTED, method=f"EventService.{method}")
