"""The servicers' converters from domain dataclasses to proto messages. A `Converter` knows the
message type it makes, so it is all that Mutations (the answer, and the form the idempotency
store keeps), the declared RPCs and the events need of a render step:

    payout_message = derived(Payout, payout_pb2.Payout)   # every field by its name

    @converts(payout_pb2.PayoutSchedule)                  # a converter with logic of its own
    def schedule_message(schedule: Schedule) -> payout_pb2.PayoutSchedule:
        return message_of(payout_pb2.PayoutSchedule, schedule, next_payout=...)

`message_of(Message, obj)` derives a message from the descriptor: it sets each field of
`Message` from the attribute of `obj` that has its name, so a converter names only what differs
(a computed field, a renamed one).

How a field finds its value, in order:
  - a keyword argument of that name (None leaves the field unset);
  - the attribute of the same name, else `<name>_id` (a reference: `customer` <- `customer_id`);
  - otherwise the field is left unset (tests/test_converters.py lists the fields each converter
    leaves unset on purpose, so a field forgotten here fails there).

How a value is set: None leaves the field at its default ("" / 0 / absent); an enum field takes
the number of `<ENUM_NAME>_<VALUE>` (the proto style: `succeeded` of PaymentIntentStatus is
PAYMENT_INTENT_STATUS_SUCCEEDED), or the number of an IntEnum; a message field takes a message
as is, or a dataclass converted by the same rules (a repeated one, a sequence of either)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cache, partial
from typing import Any, Generic, TypeVar, cast

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from paycore import validation
from paycore.transcoding import answer_only
from paycore.validation import ProtoEnum

T = TypeVar("T")
MessageT = TypeVar("MessageT", bound=Message)
EnumT = TypeVar("EnumT", bound=Enum)
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Converter(Generic[T, MessageT]):
    """How a domain value (a `T`) renders as a `message_type`: calling it is `convert(value)`."""

    message_type: type[MessageT]
    convert: Callable[[T], MessageT]
    stored_form: Callable[[MessageT], MessageT] | None = None
    """The form an idempotent replay returns, where it differs from the answer (a secret shown
    once, never stored); Mutations refuses it for a phased change, stored as answered."""

    def __call__(self, value: T) -> MessageT:
        return self.convert(value)


def derived(source: type[T], message_type: type[MessageT]) -> Converter[T, MessageT]:
    """The converter of a `source` whose every field `message_of` maps (`source` only types
    it)."""
    return Converter(message_type, partial(message_of, message_type))


def converts(
    message_type: type[MessageT], stored_form: Callable[[MessageT], MessageT] | None = None
) -> Callable[[Callable[[T], MessageT]], Converter[T, MessageT]]:
    """Makes the function it decorates the `Converter` to `message_type` (`stored_form`: as
    `Converter.stored_form`)."""

    def declared(convert: Callable[[T], MessageT]) -> Converter[T, MessageT]:
        return Converter(message_type, convert, stored_form)

    return declared


@dataclass(frozen=True, slots=True)
class Without:
    """A `stored_form`: a copy of the message with the fields `names` cleared (secrets shown
    once, never stored). The names stay readable: paycore.stripe_json.SHOWN_ONCE must list
    them (tests/edge/test_stripe_shapes.py)."""

    names: tuple[str, ...]

    def __call__(self, message: MessageT) -> MessageT:
        copy = type(message)()
        copy.CopyFrom(message)
        for name in self.names:
            copy.ClearField(name)
        return copy


def without(*names: str) -> Without:
    """The `stored_form` that clears the fields `names` (`Without`)."""
    return Without(names)


def message_of(message_type: type[MessageT], source: object, /, **fields: Any) -> MessageT:
    """A `message_type` filled from `source` (module docstring); `fields` set by name instead."""
    message = message_type()
    fill(message, source, fields)
    return message


def fill(message: Message, source: object, fields: Mapping[str, Any] | None = None) -> None:
    """Sets `message`'s fields in place from `source` and `fields` (module docstring)."""
    given = fields or {}
    for name, reference, kind, enum in _fields_of(cast(Descriptor, message.DESCRIPTOR)):
        value = given.get(name, _MISSING)
        if value is _MISSING:
            value = getattr(source, name, _MISSING)
        if value is _MISSING:
            value = getattr(source, reference, None)
        if value is None or value is _MISSING:
            continue
        if kind == _SCALAR:
            setattr(message, name, value if enum is None else _enum_number(enum, value))
        else:
            _set(message, name, kind, enum, value)


# How a field is set (derived once per message type: `_fields_of`).
_MAP, _MESSAGES, _SCALARS, _MESSAGE, _SCALAR = range(5)


@cache
def _fields_of(
    descriptor: Descriptor,
) -> tuple[tuple[str, str, int, EnumDescriptor | None], ...]:
    """Each field of the message type: its name, its reference's name, its kind and its enum
    (issue 17: every answer, stored answer and event is filled here, so the descriptor is read
    once, not on every fill: its attributes cost more than the setting)."""

    def kind(field: FieldDescriptor) -> int:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            return _MAP
        if field.is_repeated:
            return _MESSAGES if field.message_type is not None else _SCALARS
        return _MESSAGE if field.message_type is not None else _SCALAR

    return tuple(
        (field.name, f"{field.name}_id", kind(field), field.enum_type)
        for field in descriptor.fields
    )


def _set(message: Message, name: str, kind: int, enum: EnumDescriptor | None, value: Any) -> None:
    """A field other than a single scalar."""
    if kind == _MAP:
        getattr(message, name).update(value)
    elif kind == _MESSAGES:
        target = getattr(message, name)
        for item in value:
            _message_value(target.add(), item)
    elif kind == _SCALARS:
        getattr(message, name).extend(
            item if enum is None else _enum_number(enum, item) for item in value
        )
    else:
        _message_value(getattr(message, name), value)


def _message_value(target: Message, value: Any) -> None:
    target.SetInParent()
    if isinstance(value, Message):
        target.CopyFrom(value)
    else:
        fill(target, value)


def _enum_number(enum: EnumDescriptor, value: Any) -> int:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return enum_value(enum, value)
    return int(value)


def enum_value(enum: EnumDescriptor, value: str) -> int:
    """The number of `value` (lowercase, as the domain spells it) in the proto enum `enum`."""
    numbers = _numbers(enum)
    number = numbers.get(value)
    if number is None:  # as the domain spells it in another case: the name's own lookup
        number = int(enum.values_by_name[f"{enum_prefix(enum)}_{value.upper()}"].number)
    return number


@cache
def _numbers(enum: EnumDescriptor) -> dict[str, int]:
    """Each value of `enum` by its lowercase name without the prefix."""
    prefix = f"{enum_prefix(enum)}_"
    return {
        value.name.removeprefix(prefix).lower(): int(value.number)
        for value in enum.values
        if value.name.startswith(prefix)
    }


@cache
def enum_prefix(enum: EnumDescriptor) -> str:
    """The prefix of an enum's value names: `PaymentIntentStatus` -> PAYMENT_INTENT_STATUS."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper()


def value_names(enum: EnumDescriptor) -> dict[int, str]:
    """Each number of the proto enum -> the name the domain (and Stripe) give its value: the
    value's name without the enum's prefix, lowercase (`REFUND_REASON_DUPLICATE` ->
    `duplicate`); UNSPECIFIED (0) -> "" (left out)."""
    prefix = f"{enum_prefix(enum)}_"
    return {
        value.number: value.name.removeprefix(prefix).lower() if value.number else ""
        for value in enum.values
    }


def request_names(enum: EnumDescriptor) -> dict[int, str]:
    """`value_names` of the values a request may give: without the answer-only ones
    (`transcoding.answer_only`: a payment intent's `automatic` cancellation, paycore's own)."""
    answers = {value.number for value in enum.values if answer_only(value)}
    return {number: name for number, name in value_names(enum).items() if number not in answers}


def by_number(domain: type[EnumT], enum: ProtoEnum) -> dict[int, EnumT]:
    """The requests' direction: each number of the proto `enum` but UNSPECIFIED (0) and an
    answer-only value (`transcoding.answer_only`: a discrepancy's `auto` action) -> the member
    of `domain` of the same name (`PAYOUT_STATUS_PAID` -> `paid`)."""
    names = value_names(enum.DESCRIPTOR)
    answers = {value.number for value in enum.DESCRIPTOR.values if answer_only(value)}
    return {
        number: domain(name) for number, name in names.items() if number and number not in answers
    }


def member(param: str, number: int, known: Mapping[int, T], enum: ProtoEnum) -> T:
    """The domain value a request's enum field (of the proto `enum`) names (`known`:
    by_number's map, or one with UNSPECIFIED); PARAMETER_UNKNOWN_ENUM naming `param` and the
    values it takes for a number not in `known` (`validation.enum_value`)."""
    return known[validation.enum_value(param, number, known, enum)]


def by_number_or_none(domain: type[EnumT], enum: ProtoEnum) -> dict[int, EnumT | None]:
    """`by_number`, with UNSPECIFIED (0) -> None: a filter or field that may be left out."""
    return {0: None, **by_number(domain, enum)}
