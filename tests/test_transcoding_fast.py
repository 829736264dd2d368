"""transcoding.to_json renders most messages without json_format (issue 17); for every message
type of the contracts, filled field by field and left empty, it equals json_format's JSON with
the enum pass, key for key and in the same order."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from paycore.transcoding import json_format_json, to_json

_counter = itertools.count(1)


def _message_types() -> list[Descriptor]:
    import paycore.v1  # noqa: F401  (the contracts' modules register their types)

    found = []
    for module in _contract_modules():
        for descriptor in module.DESCRIPTOR.message_types_by_name.values():
            found += _with_nested(descriptor)
    return found


def _contract_modules() -> list[Any]:
    import importlib
    import pkgutil

    import paycore.v1 as contracts

    return [
        importlib.import_module(f"paycore.v1.{info.name}")
        for info in pkgutil.iter_modules(contracts.__path__)
        if info.name.endswith("_pb2")
    ]


def _with_nested(descriptor: Descriptor) -> list[Descriptor]:
    found = [descriptor]
    for nested in descriptor.nested_types:
        if not nested.GetOptions().map_entry:
            found += _with_nested(nested)
    return found


def _value(field: Any) -> Any:
    number = next(_counter)
    if field.enum_type is not None:
        values = field.enum_type.values
        return values[number % len(values)].number
    if field.cpp_type == FieldDescriptor.CPPTYPE_STRING:
        return f"v{number}".encode() if field.type == FieldDescriptor.TYPE_BYTES else f"v{number}"
    if field.cpp_type == FieldDescriptor.CPPTYPE_BOOL:
        return number % 2 == 0
    if field.cpp_type in (FieldDescriptor.CPPTYPE_FLOAT, FieldDescriptor.CPPTYPE_DOUBLE):
        return number + 0.5
    if field.cpp_type in (FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_INT64):
        return -number if number % 3 == 0 else number
    return number


def _filled(message: Message, depth: int = 0) -> Message:
    descriptor: Any = message.DESCRIPTOR
    for field in descriptor.fields:
        if field.containing_oneof is not None and message.WhichOneof(field.containing_oneof.name):
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key = field.message_type.fields_by_name["key"]
            value = field.message_type.fields_by_name["value"]
            target = getattr(message, field.name)
            if value.message_type is not None:
                if depth < 3:
                    _filled(target[_value(key)], depth + 1)
            else:
                target[_value(key)] = _value(value)
        elif field.message_type is not None:
            if depth >= 3 or field.message_type.full_name.startswith("google.protobuf."):
                continue
            if field.is_repeated:
                _filled(getattr(message, field.name).add(), depth + 1)
            else:
                _filled(getattr(message, field.name), depth + 1)
        elif field.is_repeated:
            getattr(message, field.name).extend([_value(field), _value(field)])
        else:
            setattr(message, field.name, _value(field))
    return message


@pytest.mark.parametrize("descriptor", _message_types(), ids=lambda d: d.full_name)
def test_to_json_equals_json_format(descriptor: Descriptor) -> None:
    message_type = GetMessageClass(descriptor)
    for message in (message_type(), _filled(message_type())):
        fast, slow = to_json(message), json_format_json(message)
        assert fast == slow
        assert list(fast) == list(slow)


def test_the_pool_has_the_contracts() -> None:
    assert descriptor_pool.Default().FindMessageTypeByName("paycore.v1.PaymentIntent")
