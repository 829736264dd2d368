"""An event's object, from the proto message to the stored JSON and back.

The stored JSON is proto3's (paycore.transcoding: proto field names, every field present, int64
as decimal strings, enums lowercase without their prefix), which reads back into the message
exactly; the proto message name stored beside it says how to read it back into an Any for the
gRPC Event. What merchants see (GET /v1/events/..., webhook bodies) is that Event rendered by
paycore.stripe_json.stripe_json, so that a webhook body and a GET of the event look alike."""

from __future__ import annotations

from typing import Any, cast

from google.protobuf import any_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from paycore.transcoding import checked, to_json, to_message


def render(message: Message) -> tuple[str, dict[str, Any]]:
    """(the message's full name, its JSON form)."""
    descriptor = cast(Descriptor, message.DESCRIPTOR)
    return descriptor.full_name, to_json(message)


NAMED_BY_ID_THEN: dict[str, tuple[str, str]] = {
    # A subscription item's `price` was the price's id until it carried the Price (field 9).
    "paycore.v1.Subscription": ("items", "price"),
}
"""(list, field) of objects stored when each element's `field` named its object by id, where
the message now holds that object: read back as the object of that id (nothing else of it
was stored), so that the events recorded before still read."""


def restore(object_type: str, data: dict[str, Any]) -> Message:
    descriptor = descriptor_pool.Default().FindMessageTypeByName(object_type)
    return to_message(descriptor, checked(descriptor, _as_now(object_type, data), from_text=False))


def _as_now(object_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` with the ids NAMED_BY_ID_THEN names made objects of those ids."""
    named = NAMED_BY_ID_THEN.get(object_type)
    if named is None:
        return data
    many, field = named
    elements = data.get(many)
    if not isinstance(elements, list):
        return data
    return {
        **data,
        many: [
            {**element, field: {"id": element[field]}}
            if isinstance(element, dict) and isinstance(element.get(field), str)
            else element
            for element in elements
        ],
    }


def packed(object_type: str, data: dict[str, Any]) -> any_pb2.Any:
    packed_object = any_pb2.Any()
    packed_object.Pack(restore(object_type, data))
    return packed_object
