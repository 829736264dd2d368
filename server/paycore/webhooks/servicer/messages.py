"""Webhook domain values -> messages. (A delivery's body is paycore.events.servicer.event_json:
the event exactly as the REST edge answers GetEvent.)"""

from __future__ import annotations

from paycore.v1 import event_pb2
from paycore.webhooks.models import (
    Attempt,
    Deleted,
    Delivery,
    DeliveryStatus,
    Endpoint,
    EndpointStatus,
    EndpointWithSecret,
)

_ENDPOINT_STATUSES = {
    EndpointStatus.ENABLED: event_pb2.WEBHOOK_ENDPOINT_STATUS_ENABLED,
    EndpointStatus.DISABLED: event_pb2.WEBHOOK_ENDPOINT_STATUS_DISABLED,
}
_DELIVERY_STATUSES = {
    DeliveryStatus.PENDING: event_pb2.WEBHOOK_DELIVERY_STATUS_PENDING,
    DeliveryStatus.SUCCEEDED: event_pb2.WEBHOOK_DELIVERY_STATUS_SUCCEEDED,
    DeliveryStatus.FAILED: event_pb2.WEBHOOK_DELIVERY_STATUS_FAILED,
}


def endpoint_message(endpoint: Endpoint) -> event_pb2.WebhookEndpoint:
    return event_pb2.WebhookEndpoint(
        id=endpoint.id,
        url=endpoint.url,
        enabled_events=list(endpoint.enabled_events),
        status=_ENDPOINT_STATUSES[endpoint.status],
        description=endpoint.description,
        created=endpoint.created,
        metadata=endpoint.metadata,
    )


def endpoint_with_secret(created: EndpointWithSecret) -> event_pb2.WebhookEndpoint:
    message = endpoint_message(created.endpoint)
    message.secret = created.secret.reveal()
    return message


def without_secret(message: event_pb2.WebhookEndpoint) -> event_pb2.WebhookEndpoint:
    """What the idempotency store keeps and replays: the secret is shown once."""
    kept = event_pb2.WebhookEndpoint()
    kept.CopyFrom(message)
    kept.ClearField("secret")
    return kept


def deleted_message(deleted: Deleted) -> event_pb2.DeleteWebhookEndpointResponse:
    return event_pb2.DeleteWebhookEndpointResponse(id=deleted.id, deleted=True)


def delivery_message(delivery: Delivery) -> event_pb2.WebhookDelivery:
    return event_pb2.WebhookDelivery(
        id=delivery.id,
        event=delivery.event_id,
        webhook_endpoint=delivery.endpoint_id,
        event_type=delivery.event_type,
        status=_DELIVERY_STATUSES[delivery.status],
        attempt_count=delivery.attempt_count,
        last_attempt=delivery.last_attempt,
        next_attempt=delivery.next_attempt,
        last_response_status=delivery.last_response_status,
        last_error=delivery.last_error,
        created=delivery.created,
        attempts=[attempt_message(attempt) for attempt in delivery.attempts],
    )


def attempt_message(attempt: Attempt) -> event_pb2.WebhookAttempt:
    return event_pb2.WebhookAttempt(
        attempted=attempt.attempted,
        response_status=attempt.response_status,
        duration_ms=attempt.duration_ms,
        response_body=attempt.response_body,
        error=attempt.error,
    )
