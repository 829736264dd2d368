"""Webhook requests -> validated domain values; each failure an ApiError naming the field."""

from __future__ import annotations

from collections.abc import Sequence

from paycore import validation
from paycore.errors import invalid, missing
from paycore.events.types import is_event_type, is_merchant_event_type
from paycore.ids import Prefix
from paycore.runtime.messages import by_number_or_none, member
from paycore.runtime.servicing import metadata_change
from paycore.v1 import event_pb2
from paycore.webhooks.addresses import AddressPolicy, checked_url
from paycore.webhooks.api_versions import is_released
from paycore.webhooks.models import (
    ALL_EVENTS,
    DeliveryFilter,
    DeliveryStatus,
    EndpointChange,
    EndpointStatus,
    NewEndpoint,
)

_DELIVERY_STATUSES = by_number_or_none(DeliveryStatus, event_pb2.WebhookDeliveryStatus)


def new_endpoint(
    request: event_pb2.CreateWebhookEndpointRequest, policy: AddressPolicy
) -> NewEndpoint:
    checked_url("url", request.url, policy)
    return NewEndpoint(
        url=request.url,
        enabled_events=enabled_events("enabled_events", request.enabled_events, required=True),
        description=validation.description(request.description),
        metadata=validation.metadata("metadata", request.metadata),
        api_version=api_version("api_version", request.api_version),
    )


def api_version(param: str, value: str) -> str | None:
    """`value` if Stripe released that version (api_versions.is_released), None when empty;
    else INVALID_ARGUMENT naming it (as Stripe refuses a version it does not know)."""
    if not value:
        return None
    if not is_released(value):
        raise invalid(
            param,
            f"{value[:40]!r} is not a Stripe API version (such as 2024-06-20 or 2025-03-31.basil)",
        )
    return value


def endpoint_change(
    request: event_pb2.UpdateWebhookEndpointRequest, policy: AddressPolicy
) -> EndpointChange:
    url = None
    if request.HasField("url"):
        checked_url("url", request.url, policy)
        url = request.url
    status = None
    if request.HasField("disabled"):
        status = EndpointStatus.DISABLED if request.disabled else EndpointStatus.ENABLED
    return EndpointChange(
        url=url,
        enabled_events=enabled_events("enabled_events", request.enabled_events, required=False),
        status=status,
        description=validation.description(request.description)
        if request.HasField("description")
        else None,
        metadata=metadata_change(request),
    )


def enabled_events(param: str, values: Sequence[str], *, required: bool) -> tuple[str, ...]:
    """["*"] alone, or catalogued types (each unknown one refused by name), without repeats."""
    if not values:
        if required:
            raise missing(param)
        return ()
    if ALL_EVENTS in values:
        if len(values) > 1:
            raise invalid(param, f'"{ALL_EVENTS}" means every type and stands alone')
        return (ALL_EVENTS,)
    for index, value in enumerate(values):
        if not is_event_type(value):
            raise invalid(f"{param}[{index}]", f"{value!r} is not an event type")
        if not is_merchant_event_type(value):
            raise invalid(
                f"{param}[{index}]",
                f"{value!r} is an operators' event, never sent to webhook endpoints",
            )
    return tuple(dict.fromkeys(values))


def delivery_filter(request: event_pb2.ListDeliveriesRequest) -> DeliveryFilter:
    status = member("status", request.status, _DELIVERY_STATUSES, event_pb2.WebhookDeliveryStatus)
    return DeliveryFilter(
        endpoint_id=validation.object_id(
            "webhook_endpoint", request.webhook_endpoint, Prefix.WEBHOOK_ENDPOINT, required=False
        ),
        event_id=validation.object_id("event", request.event, Prefix.EVENT, required=False),
        status=status,
    )
