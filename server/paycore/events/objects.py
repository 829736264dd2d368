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


def restore(object_type: str, data: dict[str, Any]) -> Message:
    descriptor = descriptor_pool.Default().FindMessageTypeByName(object_type)
    return to_message(descriptor, checked(descriptor, data, from_text=False))


def packed(object_type: str, data: dict[str, Any]) -> any_pb2.Any:
    packed_object = any_pb2.Any()
    packed_object.Pack(restore(object_type, data))
    return packed_object
