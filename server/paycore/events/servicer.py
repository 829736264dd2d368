"""EventService over gRPC: request -> checks -> domain call -> response, nothing more.

Webhook endpoints and deliveries are a later issue: their methods answer UNIMPLEMENTED
(METHOD_NOT_IMPLEMENTED) until then, while the service's reads are served."""

from __future__ import annotations

from typing import Any, NoReturn

from google.protobuf.message import Message
from grpc import aio
from paycore import validation
from paycore.errors import ApiError, Reason, invalid
from paycore.events.models import Event, TypeFilter
from paycore.events.objects import packed
from paycore.events.service import EventService
from paycore.events.types import WILDCARD_SUFFIX, is_type_filter
from paycore.ids import Prefix
from paycore.runtime.context import current_call
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
        page = await self._service.list_events(
            merchant_id,
            validation.list_limit(request.limit),
            validation.object_id(
                "starting_after", request.starting_after, Prefix.EVENT, required=False
            ),
            type_filter(request.type),
        )
        return event_pb2.ListEventsResponse(
            data=[event_message(event) for event in page.data], has_more=page.has_more
        )

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


def type_filter(value: str) -> TypeFilter:
    if not value:
        return TypeFilter()
    if not is_type_filter(value):
        raise invalid("type", f"{value!r} is not an event type, nor <prefix>.* of one")
    if value.endswith(WILDCARD_SUFFIX):
        return TypeFilter(prefix=value.removesuffix("*"))
    return TypeFilter(exact=value)


def event_message(event: Event) -> event_pb2.Event:
    return event_pb2.Event(
        id=event.id,
        type=event.type,
        data=event_pb2.Event.Data(object=packed(event.object_type, event.data)),
        pending_webhooks=0,
        created=event.created,
    )


def _not_implemented(method: str) -> NoReturn:
    raise ApiError(Reason.METHOD_NOT_IMPLEMENTED, method=f"EventService.{method}")
