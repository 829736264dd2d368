"""Webhook domain values -> messages. (A delivery's body is paycore.events.servicer.event_json:
the event exactly as the REST edge answers GetEvent.)"""

from __future__ import annotations

from paycore.runtime.messages import converts, derived, message_of, without
from paycore.v1 import event_pb2
from paycore.webhooks.models import (
    Deleted,
    Delivery,
    Endpoint,
    EndpointWithSecret,
)

endpoint_message = derived(Endpoint, event_pb2.WebhookEndpoint)


@converts(event_pb2.WebhookEndpoint, stored_form=without("secret"))
def endpoint_with_secret(created: EndpointWithSecret) -> event_pb2.WebhookEndpoint:
    """A create's or a roll's answer: the secret shown once, never stored."""
    message = endpoint_message(created.endpoint)
    message.secret = created.secret.reveal()
    return message


@converts(event_pb2.DeleteWebhookEndpointResponse)
def deleted_message(deleted: Deleted) -> event_pb2.DeleteWebhookEndpointResponse:
    return event_pb2.DeleteWebhookEndpointResponse(id=deleted.id, deleted=True)


@converts(event_pb2.WebhookDelivery)
def delivery_message(delivery: Delivery) -> event_pb2.WebhookDelivery:
    return message_of(event_pb2.WebhookDelivery, delivery, webhook_endpoint=delivery.endpoint_id)
