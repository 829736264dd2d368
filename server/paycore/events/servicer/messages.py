"""Events rendered as their proto message (the object packed in an Any)."""

from __future__ import annotations

from paycore.events.models import Event
from paycore.events.objects import packed
from paycore.runtime.messages import converts
from paycore.stripe_json import stripe_json, with_livemode
from paycore.transcoding import dumps
from paycore.v1 import event_pb2
from paycore.webhooks.api_versions import NEWEST_API_VERSION

EVENT_API_VERSION = NEWEST_API_VERSION
"""Every event's `api_version`: paycore renders events in one form, whatever an endpoint's
`api_version`, so each says the same version, the newest Stripe released that paycore lists
(paycore.webhooks.api_versions). A string, not null: Stripe's SDKs that compare it with
their own (stripe-go, stripe-dotnet) read a null as a mismatch too, and stripe-python and
stripe-node take any string."""


@converts(event_pb2.Event)
def event_message(event: Event) -> event_pb2.Event:
    data = event_pb2.Event.Data(object=packed(event.object_type, event.data))
    if event.previous_attributes is not None:
        data.previous_attributes.update(event.previous_attributes)
    return event_pb2.Event(
        id=event.id,
        type=event.type,
        data=data,
        pending_webhooks=0,
        created=event.created,
        api_version=EVENT_API_VERSION,
        request=event_pb2.Event.Request(
            id=event.request_id or "", idempotency_key=event.idempotency_key or ""
        ),
    )


def event_json(event: Event, livemode: bool) -> bytes:
    """The event as the REST edge answers GetEvent (the same message through the same
    renderer, paycore.stripe_json, in its merchant's mode): the body of its webhook
    deliveries."""
    return dumps(with_livemode(stripe_json(event_message(event)), livemode))
