"""EventService over gRPC: request -> checks -> domain call -> response, nothing more.

The webhook methods (endpoints, deliveries) are paycore.webhooks': they are delegated there."""

from __future__ import annotations

from typing import Any

from grpc import aio
from paycore import validation
from paycore.errors import invalid
from paycore.events.models import Event, TypeFilter
from paycore.events.objects import packed
from paycore.events.service import EventService
from paycore.events.types import WILDCARD_SUFFIX, is_type_filter
from paycore.ids import Prefix
from paycore.runtime.context import current_call
from paycore.stripe_json import stripe_json
from paycore.transcoding import dumps
from paycore.v1 import event_pb2, event_pb2_grpc
from paycore.webhooks.servicer import WebhookServicer

Context = aio.ServicerContext[Any, Any]


class EventServicer(event_pb2_grpc.EventServiceServicer):
    def __init__(self, service: EventService, webhooks: WebhookServicer) -> None:
        self._service = service
        self._webhooks = webhooks

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

    # Webhook endpoints and deliveries: paycore.webhooks serves them.

    async def CreateWebhookEndpoint(
        self, request: event_pb2.CreateWebhookEndpointRequest, context: Context
    ) -> event_pb2.WebhookEndpoint:
        return await self._webhooks.CreateWebhookEndpoint(request, context)

    async def GetWebhookEndpoint(
        self, request: event_pb2.GetWebhookEndpointRequest, context: Context
    ) -> event_pb2.WebhookEndpoint:
        return await self._webhooks.GetWebhookEndpoint(request, context)

    async def ListWebhookEndpoints(
        self, request: event_pb2.ListWebhookEndpointsRequest, context: Context
    ) -> event_pb2.ListWebhookEndpointsResponse:
        return await self._webhooks.ListWebhookEndpoints(request, context)

    async def UpdateWebhookEndpoint(
        self, request: event_pb2.UpdateWebhookEndpointRequest, context: Context
    ) -> event_pb2.WebhookEndpoint:
        return await self._webhooks.UpdateWebhookEndpoint(request, context)

    async def DeleteWebhookEndpoint(
        self, request: event_pb2.DeleteWebhookEndpointRequest, context: Context
    ) -> event_pb2.DeleteWebhookEndpointResponse:
        return await self._webhooks.DeleteWebhookEndpoint(request, context)

    async def RollWebhookEndpointSecret(
        self, request: event_pb2.RollWebhookEndpointSecretRequest, context: Context
    ) -> event_pb2.WebhookEndpoint:
        return await self._webhooks.RollWebhookEndpointSecret(request, context)

    async def ListDeliveries(
        self, request: event_pb2.ListDeliveriesRequest, context: Context
    ) -> event_pb2.ListDeliveriesResponse:
        return await self._webhooks.ListDeliveries(request, context)

    async def ResendEvent(
        self, request: event_pb2.ResendEventRequest, context: Context
    ) -> event_pb2.WebhookDelivery:
        return await self._webhooks.ResendEvent(request, context)


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


def event_json(event: Event) -> bytes:
    """The event as the REST edge answers GetEvent (the same message through the same
    renderer, paycore.stripe_json): the body of its webhook deliveries."""
    return dumps(stripe_json(event_message(event)))
