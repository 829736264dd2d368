"""JSON <-> protobuf, by the proto3 JSON mapping (google.protobuf.json_format) with proto field
names, plus one paycore rule: enum values are Stripe-like, lowercase without the enum's prefix
(`requires_capture` for PAYMENT_INTENT_STATUS_REQUIRES_CAPTURE), in requests, responses and
OpenAPI alike. An enum whose values do not all carry the prefix keeps its proto names.

Input is checked field by field against the descriptor before json_format sees it, so that an
error names the parameter (`payment_orders[0].amount`) and says what is wrong."""

from __future__ import annotations

import json
import math
import re
from functools import cache
from typing import Any, cast

from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import (
    Descriptor,
    EnumDescriptor,
    EnumValueDescriptor,
    FieldDescriptor,
)
from google.protobuf.message import Message

_INTEGER = re.compile(r"^-?[0-9]+$")
_INTEGER_DIGITS_MAX = 20
"""More digits than any 64-bit integer has (after leading zeros): out of range without being
converted (Python refuses to convert beyond 4300 digits)."""
_RANGES = {
    FieldDescriptor.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.CPPTYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.CPPTYPE_UINT64: (0, 2**64 - 1),
}
_FLOAT_WORDS = {"NaN", "Infinity", "-Infinity"}
ANY = "google.protobuf.Any"


class JsonRejected(ValueError):
    """Input that does not fit the message: the edge answers it as a 400 with this `code`,
    `message` and `param` (paycore.edge.errors)."""

    def __init__(self, code: str, message: str, param: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param


def invalid_request(code: str, message: str, param: str = "") -> JsonRejected:
    return JsonRejected(code, message, param)


def parameter_unknown(param: str) -> JsonRejected:
    return JsonRejected("parameter_unknown", f"Received unknown parameter: {param}", param)


def parameter_invalid(param: str, detail: str) -> JsonRejected:
    return JsonRejected("parameter_invalid", f"{param}: {detail}", param)


ANSWER_ONLY = "paycore.v1.answer_only"
"""common.proto's option of an enum value that only answers carry (a discrepancy's `auto`
action): no request takes it (`runtime.messages.by_number`), nor offers it (`checked`)."""


def answer_only(value: EnumValueDescriptor) -> bool:
    return any(
        option.full_name == ANSWER_ONLY and given
        for option, given in value.GetOptions().ListFields()
    )


@cache
def enum_json_names(enum: EnumDescriptor) -> dict[str, str]:
    """Proto value name -> its JSON name (`requires_capture`)."""
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"
    names = [value.name for value in enum.values]
    if not all(name.startswith(prefix) and len(name) > len(prefix) for name in names):
        return {name: name for name in names}
    return {name: name[len(prefix) :].lower() for name in names}


@cache
def rendered_enum_names(enum: EnumDescriptor) -> dict[str, str | None]:
    """`enum_json_names` as answers render them: the unset value (`..._UNSPECIFIED`, 0) is
    null, as Stripe answers a field with nothing in it (`cancellation_reason`, a refund's
    `reason`), so that `if intent.cancellation_reason:` reads as it does against Stripe."""
    names: dict[str, str | None] = dict(enum_json_names(enum))
    for value in enum.values:
        if value.number == 0 and value.name.endswith("_UNSPECIFIED"):
            names[value.name] = None
    return names


STRIPE_ENUM_NAMES: dict[str, dict[str, str]] = {
    # A card payment's balance transaction: Stripe's is a `charge`.
    "paycore.v1.BalanceTransactionType": {"payment": "charge"},
}
"""Per enum, its values whose Stripe name differs from their JSON name (`enum_json_names`):
the REST edge answers with the Stripe name (paycore.stripe_json) and a request may give either
(`checked`); gRPC, and the proto3 JSON events store, keep paycore's (deploy/edge.md)."""


@cache
def stripe_enum_names(enum: EnumDescriptor) -> dict[str, str]:
    """JSON name -> the Stripe name the REST edge renders instead, for `enum`'s values that
    have one (STRIPE_ENUM_NAMES)."""
    return STRIPE_ENUM_NAMES.get(enum.full_name, {})


def sent_enum_names(enum_name: str, numbers: list[int]) -> list[str] | None:
    """The names a JSON client sends (and answers show: the Stripe name where one differs) for
    the values `numbers` of the enum of full name `enum_name`; None for an enum this process
    does not know, or a number it does not define."""
    try:
        enum = descriptor_pool.Default().FindEnumTypeByName(enum_name)
    except KeyError:
        return None
    json_names, aliases = enum_json_names(enum), stripe_enum_names(enum)
    names = []
    for number in numbers:
        value = enum.values_by_number.get(number)
        if value is None:
            return None
        json_name = json_names[value.name]
        names.append(aliases.get(json_name, json_name))
    return names


@cache
def _enum_proto_names(enum: EnumDescriptor) -> dict[str, str]:
    names = {json_name: name for name, json_name in enum_json_names(enum).items()}
    aliases = stripe_enum_names(enum)
    return {**names, **{aliases[json_name]: names[json_name] for json_name in aliases}}


def message_of(field: FieldDescriptor) -> Descriptor:
    """The message type of a message field."""
    message = field.message_type
    if message is None:
        raise TypeError(f"{field.full_name} is not a message field")
    return message


def is_map(field: FieldDescriptor) -> bool:
    return field.type == FieldDescriptor.TYPE_MESSAGE and message_of(field).GetOptions().map_entry


def is_well_known(message: Descriptor) -> bool:
    """google.protobuf types have JSON forms of their own; json_format handles them whole."""
    return bool(message.full_name.startswith("google.protobuf."))


@cache
def has_enums(message: Descriptor) -> bool:
    """Whether rendering `message` needs the enum pass (cached: most messages skip it)."""
    return _has_enums(message, set())


def _has_enums(message: Descriptor, seen: set[str]) -> bool:
    if message.full_name == ANY:
        return True  # whatever it holds may have (an event's object)
    if message.full_name in seen or is_well_known(message):
        return False
    seen.add(message.full_name)
    for field in message.fields:
        if field.type == FieldDescriptor.TYPE_ENUM:
            return True
        if field.type == FieldDescriptor.TYPE_MESSAGE and _has_enums(message_of(field), seen):
            return True
    return False


def message_class(message: Descriptor) -> type[Message]:
    return message_factory.GetMessageClass(message)


def checked(message: Descriptor, value: Any, *, from_text: bool, param: str = "") -> dict[str, Any]:
    """`value` (parsed JSON, or the structure of form/query parameters when `from_text`) as
    json_format wants it for `message`: known fields only, values of the field's type, enum
    values by proto name. Raises EdgeError naming the parameter."""
    if not isinstance(value, dict):
        raise parameter_invalid(param or "body", "must be a JSON object")
    result: dict[str, Any] = {}
    for key, item in value.items():
        field = message.fields_by_name.get(key) or message.fields_by_camelcase_name.get(key)
        name = f"{param}.{key}" if param else key
        if field is None:
            raise parameter_unknown(name)
        if item == "" and is_map(field):
            result.update(_map_cleared(message, field, name))
            continue
        if item == "" and clear_field_of(message, field) is not None:
            result[f"clear_{field.name}"] = True  # Stripe's emptyable field: `discounts=` unsets it
            continue
        if item == NOW and now_field_of(message, field) is not None:
            result[f"{field.name}_now"] = True  # Stripe's `trial_end=now`: the request's flag
            continue
        if item is None or (from_text and item == "" and field.type != FieldDescriptor.TYPE_STRING):
            continue  # null, or Stripe's empty form value: the field stays unset
        if field.name in result:
            raise parameter_invalid(name, "is given twice")
        result[field.name] = _checked_field(field, item, from_text, name)
    return result


def _map_cleared(message: Descriptor, field: FieldDescriptor, name: str) -> dict[str, bool]:
    """Stripe's `metadata=` (or JSON's "metadata": ""), which clears every key: the request's
    `clear_metadata`, on the updates that have one; elsewhere a map takes key=value only."""
    clear = message.fields_by_name.get(f"clear_{field.name}")
    if clear is None or clear.type != FieldDescriptor.TYPE_BOOL:
        raise parameter_invalid(name, f"is a map: use {name}[key]=value")
    return {clear.name: True}


def clear_field_of(message: Descriptor, field: FieldDescriptor) -> FieldDescriptor | None:
    """The `clear_<field>` boolean of an enum or message field (a list too) that an update may
    unset (Stripe's emptyable fields: `setup_future_usage=""`, `discounts=""`); None for any
    other field (a map's is `_map_cleared`'s)."""
    kinds = (FieldDescriptor.TYPE_ENUM, FieldDescriptor.TYPE_MESSAGE)
    if field.type not in kinds or is_map(field):
        return None
    clear = message.fields_by_name.get(f"clear_{field.name}")
    return clear if clear is not None and clear.type == FieldDescriptor.TYPE_BOOL else None


NOW = "now"
"""Stripe's special value of a moment (`trial_end=now`): now on the object's clock, which only
the server knows (a test clock's), so the request says it with a flag (`now_field_of`)."""


def now_field_of(message: Descriptor, field: FieldDescriptor) -> FieldDescriptor | None:
    """The `<field>_now` boolean of an integer moment that may be Stripe's "now"
    (CreateSubscription's and UpdateSubscription's `trial_end_now`); None for any other."""
    if field.type != FieldDescriptor.TYPE_INT64 or field.is_repeated:
        return None
    flag = message.fields_by_name.get(f"{field.name}_now")
    return flag if flag is not None and flag.type == FieldDescriptor.TYPE_BOOL else None


def _checked_field(field: FieldDescriptor, item: Any, from_text: bool, name: str) -> Any:
    if is_map(field):
        if not isinstance(item, dict):
            raise parameter_invalid(name, "must be an object of key: value")
        value_field = message_of(field).fields_by_name["value"]
        return {
            _text(key, name): _checked_value(value_field, entry, from_text, f"{name}[{key}]")
            for key, entry in item.items()
        }
    if field.is_repeated:
        if not isinstance(item, list):
            raise parameter_invalid(name, "must be a list")
        return [
            _checked_value(field, entry, from_text, f"{name}[{index}]")
            for index, entry in enumerate(item)
        ]
    return _checked_value(field, item, from_text, name)


def _checked_value(field: FieldDescriptor, value: Any, from_text: bool, name: str) -> Any:
    kind = field.type
    if kind == FieldDescriptor.TYPE_MESSAGE:
        message = message_of(field)
        if is_well_known(message):
            return value
        return checked(message, value, from_text=from_text, param=name)
    if kind == FieldDescriptor.TYPE_ENUM:
        return _enum_value(field, value, name)
    if kind in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES):
        if not isinstance(value, str):
            raise parameter_invalid(name, "must be a string")
        return _text(value, name)
    if kind == FieldDescriptor.TYPE_BOOL:
        words = BOOLEAN_WORDS.get(field.full_name, ())
        if value in words:
            return True
        return _boolean(value, from_text, name, words)
    if field.cpp_type in _RANGES:
        return _integer(field, value, name)
    return _number(value, name)


def _text(value: str, name: str) -> str:
    """`value` if it is Unicode text: JSON can escape half of a UTF-16 pair ("\\ud800"), which
    protobuf refuses with a message naming no param."""
    try:
        value.encode()
    except UnicodeEncodeError:
        raise parameter_invalid(name, "must be Unicode text (an unpaired surrogate)") from None
    return value


def _enum_value(field: FieldDescriptor, value: Any, name: str) -> str:
    """The proto name of an enum value given by its JSON name. An answer-only value is the
    server's to refuse (naming what the call takes), and is not offered here."""
    enum = cast(EnumDescriptor, field.enum_type)
    proto_name = _enum_proto_names(enum).get(value) if isinstance(value, str) else None
    if proto_name is None:
        # The unset value (null in answers) is accepted as leaving the field out, not offered.
        rendered = rendered_enum_names(enum)
        offered = [rendered[each.name] for each in enum.values if not answer_only(each)]
        offered += stripe_enum_names(enum).values()
        allowed = ", ".join(choice for choice in offered if choice is not None)
        raise parameter_invalid(name, f"must be one of {allowed}")
    return proto_name


# Booleans that Stripe also takes as words meaning true: a PaymentIntent's `off_session`
# ("one_off" or "recurring", both off-session at paycore).
BOOLEAN_WORDS: dict[str, tuple[str, ...]] = {
    f"paycore.v1.{request}.off_session": ("one_off", "recurring")
    for request in ("CreatePaymentIntentRequest", "ConfirmPaymentIntentRequest")
}


def _boolean(value: Any, from_text: bool, name: str, words: tuple[str, ...] = ()) -> bool:
    if isinstance(value, bool):
        return value
    if from_text and value in ("true", "false"):
        return bool(value == "true")
    if words:
        raise parameter_invalid(name, f"must be true, false, {' or '.join(words)}")
    raise parameter_invalid(name, "must be true or false")


def _integer(field: FieldDescriptor, value: Any, name: str) -> int:
    number: int | None = None
    low, high = _RANGES[field.cpp_type]
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INTEGER.match(value):
        too_long = len(value.lstrip("-").lstrip("0")) > _INTEGER_DIGITS_MAX
        number = high + 1 if too_long else int(value)  # out of range either way
    if number is None:
        raise parameter_invalid(name, "must be an integer")
    if not low <= number <= high:
        raise parameter_invalid(name, f"must be between {low} and {high}")
    return number


def _number(value: Any, name: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and value in _FLOAT_WORDS:
        return float(value.replace("Infinity", "inf"))
    else:
        try:
            number = float(value) if isinstance(value, str) else math.nan
        except ValueError:
            number = math.nan
    if not math.isfinite(number):
        raise parameter_invalid(name, "must be a number")
    return number


def to_message(message: Descriptor, fields: dict[str, Any]) -> Message:
    """The request message from checked fields."""
    request = message_class(message)()
    try:
        json_format.ParseDict(fields, request)
    except (json_format.ParseError, ValueError, TypeError) as error:
        raise invalid_request("parameter_invalid", str(error).split("\n")[0]) from None
    return request


def to_json(response: Message) -> dict[str, Any]:
    """proto3 JSON with proto field names, every field present, enums by their JSON name (an
    unset one null: `rendered_enum_names`)."""
    plan = _json_plan(cast(Descriptor, response.DESCRIPTOR))
    if plan is not None:
        return _rendered(response, plan)
    return json_format_json(response)


def json_format_json(response: Message) -> dict[str, Any]:
    """`to_json` through json_format (what the plans below must equal)."""
    rendered: dict[str, Any] = json_format.MessageToDict(
        response,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )
    descriptor = cast(Descriptor, response.DESCRIPTOR)  # the stubs name upb's class
    if has_enums(descriptor):
        _rename_enums(descriptor, rendered)
    return rendered


# -- the same JSON without json_format (issue 17: each payment's events render three intents,
# about 0.4 ms each through MessageToDict on a busy machine): each message type's fields and
# how each renders, derived once. Only for messages whose fields (nested ones included) are
# integers, strings, booleans, enums and messages of the same kinds, repeated or in maps;
# a message with anything else (floats, bytes, well-known types) goes through json_format.
# The result is MessageToDict's with the enum pass applied, key for key, in the same order
# (the fields set in field number order, then the others with their defaults);
# tests/test_transcoding_fast.py compares the two.

_Render = Any  # Callable[[Any], Any]
_PlanField = tuple[str, _Render, int]  # name, render one value, kind (below)
_SINGLE, _REPEATED, _MAP = range(3)


class _Plan:
    __slots__ = ("defaults", "fields")

    def __init__(self) -> None:
        self.fields: dict[str, _PlanField] = {}
        """Every field by name, for the fields ListFields answers."""
        self.defaults: list[tuple[str, int, Any]] = []
        """The fields without presence, in declaration order: name, kind, default JSON."""


_building: set[str] = set()


@cache
def _json_plan(message: Descriptor) -> _Plan | None:
    if is_well_known(message) or message.full_name in _building:
        return None  # recursive types, too: json_format's
    _building.add(message.full_name)
    try:
        plan = _Plan()
        for field in message.fields:
            if is_map(field):
                entry = message_of(field)
                key, value = entry.fields_by_name["key"], entry.fields_by_name["value"]
                render = _value_render(value)
                if render is None or _value_render(key) is None:
                    return None
                plan.fields[field.name] = (field.name, render, _MAP)
                plan.defaults.append((field.name, _MAP, None))
                continue
            render = _value_render(field)
            if render is None:
                return None
            kind = _REPEATED if field.is_repeated else _SINGLE
            plan.fields[field.name] = (field.name, render, kind)
            if field.is_repeated:
                plan.defaults.append((field.name, kind, None))
            elif not field.has_presence:
                plan.defaults.append((field.name, kind, render(field.default_value)))
        return plan
    finally:
        _building.discard(message.full_name)


def _value_render(field: FieldDescriptor) -> _Render | None:
    cpp = field.cpp_type
    if cpp == FieldDescriptor.CPPTYPE_MESSAGE:
        nested = _json_plan(message_of(field))
        if nested is None:
            return None
        return lambda value: _rendered(value, nested)
    if cpp == FieldDescriptor.CPPTYPE_ENUM:
        enum = field.enum_type
        if enum is None or enum.full_name == "google.protobuf.NullValue" or enum.is_closed:
            return None
        names = rendered_enum_names(enum)
        by_number = {value.number: names.get(value.name, value.name) for value in enum.values}
        return lambda value: by_number.get(value, value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return None
    if cpp == FieldDescriptor.CPPTYPE_STRING:
        return str
    if cpp == FieldDescriptor.CPPTYPE_BOOL:
        return bool
    if cpp in (FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT64):
        return str
    if cpp in (FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_UINT32):
        return _same
    return None  # floats: json_format's shortest form


def _same(value: Any) -> Any:
    return value


def _rendered(message: Message, plan: _Plan) -> dict[str, Any]:
    rendered: dict[str, Any] = {}
    fields = plan.fields
    for field, value in message.ListFields():
        name, render, kind = fields[field.name]
        if kind == _SINGLE:
            rendered[name] = render(value)
        elif kind == _REPEATED:
            rendered[name] = [render(item) for item in value]
        else:
            rendered[name] = {
                ("true" if key else "false") if isinstance(key, bool) else str(key): render(item)
                for key, item in value.items()
            }
    for name, kind, default in plan.defaults:
        if name not in rendered:
            rendered[name] = default if kind == _SINGLE else [] if kind == _REPEATED else {}
    return rendered


def _rename_enums(message: Descriptor, rendered: dict[str, Any]) -> None:
    for key, item in rendered.items():
        field = message.fields_by_name.get(key)
        if field is None:
            continue
        if is_map(field):
            value_field = message_of(field).fields_by_name["value"]
            for entry_key, entry in item.items():
                item[entry_key] = _renamed(value_field, entry)
        elif field.is_repeated:
            rendered[key] = [_renamed(field, entry) for entry in item]
        else:
            rendered[key] = _renamed(field, item)


def _renamed(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_ENUM and isinstance(value, str):
        return rendered_enum_names(field.enum_type).get(value, value)
    if field.type == FieldDescriptor.TYPE_MESSAGE and isinstance(value, dict):
        message: Descriptor | None = message_of(field)
        if message is not None and message.full_name == ANY:
            message = _packed_message(value)
        if message is not None and has_enums(message):
            _rename_enums(message, value)
    return value


def _packed_message(rendered_any: dict[str, Any]) -> Descriptor | None:
    """The message type an Any's JSON holds (its "@type"), if this process knows it."""
    type_name = str(rendered_any.get("@type", "")).rpartition("/")[2]
    try:
        return descriptor_pool.Default().FindMessageTypeByName(type_name)
    except KeyError:
        return None


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose every key is given once: json.loads keeps the last of a repeated key,
    which another reader of the same body (a proxy, a log) may take as the first."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {key[:40]!r} is given more than once")
        found[key] = value
    return found


def loads(body: bytes) -> Any:
    """Parsed JSON, or an EdgeError saying where it is malformed."""
    try:
        return json.loads(
            body.decode("utf-8"), parse_constant=_no_constants, object_pairs_hook=_unique_keys
        )
    except UnicodeDecodeError:
        raise invalid_request("body_malformed", "The body is not valid UTF-8") from None
    except json.JSONDecodeError as error:
        raise invalid_request(
            "body_malformed",
            f"The body is not valid JSON: {error.msg} (line {error.lineno} column {error.colno})",
        ) from None
    except (ValueError, RecursionError) as error:
        detail = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise invalid_request("body_malformed", f"The body is not valid JSON: {detail}") from None
