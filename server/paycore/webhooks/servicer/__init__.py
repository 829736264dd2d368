"""EventService's webhook methods over gRPC: validate, call the domain (through Mutations for
changes), render. paycore.events' `register` serves them beside its EventServicer's."""

from __future__ import annotations

import time
from dataclasses import dataclass

from paycore import validation
from paycore.ids import Prefix
from paycore.runtime.context import current_call
from paycore.runtime.mutations import Mutations
from paycore.runtime.servicing import (
    ChangingRpcs,
    Context,
    cursor_of,
    merchant_and_id,
    page_response,
)
from paycore.v1 import event_pb2
from paycore.webhooks.addresses import AddressPolicy, check_destination
from paycore.webhooks.deliveries import Deliveries
from paycore.webhooks.delivering import Clock, utc_now
from paycore.webhooks.endpoints import Endpoints
from paycore.webhooks.servicer import messages, requests

rpcs: ChangingRpcs[WebhookServicer] = ChangingRpcs()


@dataclass(frozen=True, slots=True)
class WebhookServicer:
    _endpoints: Endpoints
    _deliveries: Deliveries
    _mutations: Mutations
    _policy: AddressPolicy
    _clock: Clock = utc_now

    async def CreateWebhookEndpoint(
        self, request: event_pb2.CreateWebhookEndpointRequest, context: Context
    ) -> event_pb2.WebhookEndpoint:
        merchant_id = current_call().require_merchant()
        new = requests.new_endpoint(request, self._policy)
        await check_destination("url", new.url, self._policy)
        created = int(time.time())
        return await self._mutations.answer(
            merchant_id,
            request,
            messages.endpoint_with_secret,
            self._endpoints.create,
            new,
            created,
        )

    GetWebhookEndpoint = rpcs.get(
        Prefix.WEBHOOK_ENDPOINT, lambda s: s._endpoints.get, messages.endpoint_message
    )

    ListWebhookEndpoints = rpcs.list(
        Prefix.WEBHOOK_ENDPOINT,
        event_pb2.ListWebhookEndpointsResponse,
        lambda s: s._endpoints.list,
        messages.endpoint_message,
    )

    async def UpdateWebhookEndpoint(
        self, request: event_pb2.UpdateWebhookEndpointRequest, context: Context
    ) -> event_pb2.WebhookEndpoint:
        merchant_id, endpoint_id = merchant_and_id(request.id, Prefix.WEBHOOK_ENDPOINT)
        change = requests.endpoint_change(request, self._policy)
        if change.url is not None:
            await check_destination("url", change.url, self._policy)
        return await self._mutations.answer(
            merchant_id,
            request,
            messages.endpoint_message,
            self._endpoints.update,
            endpoint_id,
            change,
        )

    DeleteWebhookEndpoint = rpcs.change_by_id(
        Prefix.WEBHOOK_ENDPOINT, messages.deleted_message, lambda s: s._endpoints.delete
    )

    async def RollWebhookEndpointSecret(
        self, request: event_pb2.RollWebhookEndpointSecretRequest, context: Context
    ) -> event_pb2.WebhookEndpoint:
        merchant_id, endpoint_id = merchant_and_id(request.id, Prefix.WEBHOOK_ENDPOINT)
        now = self._clock()
        return await self._mutations.answer(
            merchant_id,
            request,
            messages.endpoint_with_secret,
            self._endpoints.roll_secret,
            endpoint_id,
            now,
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
        merchant_id, event_id = merchant_and_id(request.id, Prefix.EVENT)
        endpoint_id = validation.object_id(
            "webhook_endpoint", request.webhook_endpoint, Prefix.WEBHOOK_ENDPOINT
        )
        now = self._clock()
        return await self._mutations.answer(
            merchant_id,
            request,
            messages.delivery_message,
            self._deliveries.resend,
            event_id,
            endpoint_id,
            now,
        )
