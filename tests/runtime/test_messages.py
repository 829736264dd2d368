"""runtime.messages' converters: each knows the message type it makes (`derived`, `converts`),
and the form the idempotency store keeps of an answer whose secret is shown once (`without`).
Every servicer converter's fields: tests/test_converters.py."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.descriptor import FieldDescriptor
from paycore.runtime.messages import converts, derived, message_of, without
from paycore.v1 import account_pb2, common_pb2

from tests.converters import servicer_converters

SHOWN_ONCE = {
    "paycore.account.servicer.messages.created_merchant_message": {"secret_key", "publishable_key"},
    "paycore.account.servicer.messages.issued_key_message": {"secret"},
    "paycore.webhooks.servicer.messages.endpoint_with_secret": {"secret"},
}
"""Each converter with a stored form -> the fields its stored form clears."""


@dataclass(frozen=True)
class _Money:
    amount: int
    currency: str


def test_a_derived_converter_maps_every_field_by_its_name() -> None:
    money = derived(_Money, common_pb2.Money)
    assert (money.message_type, money.stored_form) == (common_pb2.Money, None)
    assert money(_Money(250, "usd")) == common_pb2.Money(amount=250, currency="usd")


def test_converts_makes_the_function_the_converter_to_its_message_type() -> None:
    @converts(common_pb2.Money)
    def doubled(money: _Money) -> common_pb2.Money:
        return message_of(common_pb2.Money, money, amount=money.amount * 2)

    assert (doubled.message_type, doubled.stored_form) == (common_pb2.Money, None)
    assert doubled(_Money(250, "usd")) == common_pb2.Money(amount=500, currency="usd")


def test_without_stores_a_copy_with_the_fields_cleared() -> None:
    shown = account_pb2.ApiKey(id="key_1", name="ci", secret="sk_test_1")
    assert without("secret")(shown) == account_pb2.ApiKey(id="key_1", name="ci")
    assert shown.secret == "sk_test_1"  # the answer itself is returned as it is


def test_each_stored_form_clears_the_secrets_its_answer_shows_once() -> None:
    found = servicer_converters()
    with_stored_form = {name for name, converter in found.items() if converter.stored_form}
    assert with_stored_form == SHOWN_ONCE.keys()
    for name, cleared in SHOWN_ONCE.items():
        converter = found[name]
        strings = [
            field.name
            for field in converter.message_type.DESCRIPTOR.fields
            if field.type == FieldDescriptor.TYPE_STRING and not field.is_repeated
        ]
        shown = converter.message_type(**dict.fromkeys(strings, "shown"))
        assert converter.stored_form is not None
        stored = converter.stored_form(shown)
        assert {field for field in strings if getattr(stored, field) != "shown"} == cleared, name
