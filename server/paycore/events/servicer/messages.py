"""Events rendered as their proto message (the object packed in an Any)."""

from __future__ import annotations

from paycore.events.models import Event
from paycore.events.objects import packed
from paycore.runtime.messages import converts
from paycore.stripe_json import stripe_json, with_livemode
from paycore.transcoding import dumps
from paycore.v1 import event_pb2


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
    )


def event_json(event: Event, livemode: bool) -> bytes:
    """The event as the REST edge answers GetEvent (the same message through the same
    renderer, paycore.stripe_json, in its merchant's mode): the body of its webhook
    deliveries."""
    return dumps(with_livemode(stripe_json(event_message(event)), livemode))
