"""EventService's webhook methods over gRPC: validate, call the domain (through Mutations for
changes), render. paycore.events' EventServicer delegates its webhook methods here."""

from __future__ import annotations

import time
from typing import Any

from grpc import aio
from paycore import validation
from paycore.ids import Prefix
from paycore.runtime.context import current_call
from paycore.runtime.listing import cursor_of, page_response
from paycore.runtime.mutations import Mutations
from paycore.v1 import event_pb2
from paycore.webhooks.addresses import AddressPolicy, check_destination
from paycore.webhooks.deliveries import Deliveries
from paycore.webhooks.delivering import Clock, utc_now
from paycore.webhooks.endpoints import Endpoints
from paycore.webhooks.servicer import messages, requests

Context = aio.ServicerContext[Any, Any]


class WebhookServicer:
    def __init__(
        self,
        endpoints: Endpoints,
        deliveries: Deliveries,
        mutations: Mutations,
        policy: AddressPolicy,
        clock: Clock = utc_now,
    ) -> None:
        self._endpoints = endpoints
        self._deliveries = deliveries
        self._mutations = mutations
        self._policy = policy
        self._clock = clock

    async def CreateWebhookEndpoint(
        self, request: event_pb2.CreateWebhookEndpointRequest, context: Context
    ) -> event_pb2.WebhookEndpoint:
        merchant_id = current_call().require_merchant()
        new = requests.new_endpoint(request, self._policy)
        await check_destination("url", new.url, self._policy)
        created = int(time.time())
        return await self._mutations.for_merchant(
            merchant_id,
            request,
            event_pb2.WebhookEndpoint,
            lambda connection: self._endpoints.create(connection, merchant_id, new, created),
            render=messages.endpoint_with_secret,
            stored_form=messages.without_secret,
        )

    async def GetWebhookEndpoint(
        self, request: event_pb2.GetWebhookEndpointRequest, context: Context
    ) -> event_pb2.WebhookEndpoint:
        merchant_id = current_call().require_merchant()
        endpoint_id = validation.object_id("id", request.id, Prefix.WEBHOOK_ENDPOINT)
        return messages.endpoint_message(await self._endpoints.get(merchant_id, endpoint_id))

    async def ListWebhookEndpoints(
        self, request: event_pb2.ListWebhookEndpointsRequest, context: Context
    ) -> event_pb2.ListWebhookEndpointsResponse:
        merchant_id = current_call().require_merchant()
        page = await self._endpoints.list(merchant_id, cursor_of(request, Prefix.WEBHOOK_ENDPOINT))
        return page_response(
            event_pb2.ListWebhookEndpointsResponse, page, messages.endpoint_message
        )

    async def UpdateWebhookEndpoint(
        self, request: event_pb2.UpdateWebhookEndpointRequest, context: Context
    ) -> event_pb2.WebhookEndpoint:
        merchant_id = current_call().require_merchant()
        endpoint_id = validation.object_id("id", request.id, Prefix.WEBHOOK_ENDPOINT)
        change = requests.endpoint_change(request, self._policy)
        if change.url is not None:
            await check_destination("url", change.url, self._policy)
        return await self._mutations.for_merchant(
            merchant_id,
            request,
            event_pb2.WebhookEndpoint,
            lambda connection: self._endpoints.update(connection, merchant_id, endpoint_id, change),
            render=messages.endpoint_message,
        )

    async def DeleteWebhookEndpoint(
        self, request: event_pb2.DeleteWebhookEndpointRequest, context: Context
    ) -> event_pb2.DeleteWebhookEndpointResponse:
        merchant_id = current_call().require_merchant()
        endpoint_id = validation.object_id("id", request.id, Prefix.WEBHOOK_ENDPOINT)
        return await self._mutations.for_merchant(
            merchant_id,
            request,
            event_pb2.DeleteWebhookEndpointResponse,
            lambda connection: self._endpoints.delete(connection, merchant_id, endpoint_id),
            render=messages.deleted_message,
        )

    async def RollWebhookEndpointSecret(
        self, request: event_pb2.RollWebhookEndpointSecretRequest, context: Context
    ) -> event_pb2.WebhookEndpoint:
        merchant_id = current_call().require_merchant()
        endpoint_id = validation.object_id("id", request.id, Prefix.WEBHOOK_ENDPOINT)
        now = self._clock()
        return await self._mutations.for_merchant(
            merchant_id,
            request,
            event_pb2.WebhookEndpoint,
            lambda connection: self._endpoints.roll_secret(
                connection, merchant_id, endpoint_id, now
            ),
            render=messages.endpoint_with_secret,
            stored_form=messages.without_secret,
        )

    async def ListDeliveries(
        self, request: event_pb2.ListDeliveriesRequest, context: Context
    ) -> event_pb2.ListDeliveriesResponse:
        merchant_id = current_call().require_merchant()
        page = await self._deliveries.list(
            merchant_id,
            requests.delivery_filter(request),
            cursor_of(request, Prefix.WEBHOOK_DELIVERY),
        )
        return page_response(event_pb2.ListDeliveriesResponse, page, messages.delivery_message)

    async def ResendEvent(
        self, request: event_pb2.ResendEventRequest, context: Context
    ) -> event_pb2.WebhookDelivery:
        merchant_id = current_call().require_merchant()
        event_id = validation.object_id("id", request.id, Prefix.EVENT)
        endpoint_id = validation.object_id(
            "webhook_endpoint", request.webhook_endpoint, Prefix.WEBHOOK_ENDPOINT
        )
        now = self._clock()
        return await self._mutations.for_merchant(
            merchant_id,
            request,
            event_pb2.WebhookDelivery,
            lambda connection: self._deliveries.resend(
                connection, merchant_id, event_id, endpoint_id, now
            ),
            render=messages.delivery_message,
        )
