"""Every converter from a domain dataclass to a proto message makes its message type and maps
every field of the message, or lists it as deliberately omitted; every converter of a servicer
is checked (tests/converters.py says how to add one)."""

from __future__ import annotations

from typing import cast

import pytest
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from paycore.v1 import payment_pb2

from tests.converters import CONVERTERS, ConverterCase, servicer_converters


def unset_fields(message: Message, prefix: str = "") -> list[str]:
    """The dotted paths of the fields of `message` (and of its nested messages) left unset."""
    found: list[str] = []
    descriptor = cast(Descriptor, message.DESCRIPTOR)
    for item in descriptor.fields:
        path = f"{prefix}{item.name}"
        value = getattr(message, item.name)
        if item.is_repeated:
            if not value:
                found.append(path)
            elif item.message_type is not None and not item.message_type.GetOptions().map_entry:
                found += unset_fields(value[0], f"{path}.")
        elif item.message_type is not None:
            if message.HasField(item.name):
                found += unset_fields(value, f"{path}.")
            else:
                found.append(path)
        elif item.has_presence:
            if not message.HasField(item.name):
                found.append(path)
        elif value == item.default_value:
            found.append(path)
    return found


def all_paths(descriptor: Descriptor, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for item in descriptor.fields:
        path = f"{prefix}{item.name}"
        paths.add(path)
        if item.message_type is not None and not item.message_type.GetOptions().map_entry:
            paths |= all_paths(item.message_type, f"{path}.")
    return paths


@pytest.mark.parametrize("converter", CONVERTERS, ids=lambda converter: converter.name)
def test_every_message_field_is_mapped_or_omitted(converter: ConverterCase) -> None:
    rendered = converter.render(converter.sample)
    assert type(rendered) is converter.render.message_type
    assert sorted(set(unset_fields(rendered)) - set(converter.omitted)) == []


@pytest.mark.parametrize("converter", CONVERTERS, ids=lambda converter: converter.name)
def test_omitted_fields_exist(converter: ConverterCase) -> None:
    rendered = converter.render(converter.sample)
    assert sorted(set(converter.omitted) - all_paths(cast(Descriptor, rendered.DESCRIPTOR))) == []


def test_every_converter_of_a_servicer_is_checked() -> None:
    checked = [case.render for case in CONVERTERS]
    unchecked = [name for name, found in servicer_converters().items() if found not in checked]
    assert unchecked == []


def test_an_unmapped_field_is_found() -> None:
    converter = next(found for found in CONVERTERS if found.name == "intent_message")
    rendered = cast(payment_pb2.PaymentIntent, converter.render(converter.sample))
    rendered.ClearField("amount")
    rendered.last_payment_error.ClearField("code")
    assert set(unset_fields(rendered)) - set(converter.omitted) == {
        "amount",
        "last_payment_error.code",
    }
