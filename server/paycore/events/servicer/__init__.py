"""EventService over gRPC: request -> checks (requests.py) -> domain call -> message
(messages.py), nothing more. The webhook methods (endpoints, deliveries) are paycore.webhooks':
they are delegated there."""

from __future__ import annotations

from dataclasses import dataclass

from grpc import aio
from paycore import validation
from paycore.events.service import EventService
from paycore.events.servicer.messages import event_json, event_message
from paycore.events.servicer.requests import type_filter
from paycore.ids import Prefix
from paycore.runtime.servicing import (
    Context,
    add_servicer,
    get_by_id,
    merchant_and_cursor,
    page_response,
)
from paycore.v1 import event_pb2, event_pb2_grpc
from paycore.webhooks.servicer import WebhookServicer

OBJECT_ID_LENGTH_MAX = 64


def register(server: aio.Server, service: EventService, webhooks: WebhookServicer) -> str:
    """Adds EventService to `server`; returns its full name."""
    add = event_pb2_grpc.add_EventServiceServicer_to_server
    return add_servicer(server, add, EventServicer(service, webhooks))


@dataclass(frozen=True, slots=True)
class EventServicer(event_pb2_grpc.EventServiceServicer):
    _service: EventService
    _webhooks: WebhookServicer

    async def GetEvent(
        self, request: event_pb2.GetEventRequest, context: Context
    ) -> event_pb2.Event:
        read = self._service.get_event
        return await get_by_id(request, Prefix.EVENT, read, event_message)

    async def ListEvents(
        self, request: event_pb2.ListEventsRequest, context: Context
    ) -> event_pb2.ListEventsResponse:
        merchant_id, cursor = merchant_and_cursor(request, Prefix.EVENT)
        object_id = validation.text("object_id", request.object_id, maximum=OBJECT_ID_LENGTH_MAX)
        page = await self._service.list_events(
            merchant_id, cursor, type_filter(request.type), object_id
        )
        return page_response(event_pb2.ListEventsResponse, page, event_message)

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


__all__ = ["EventServicer", "event_json", "event_message", "register"]
