"""Stripe's bracket notation (form bodies and query strings) -> the JSON structure of a message.

    card[number]=4242...              {"card": {"number": "4242..."}}
    payment_orders[0][amount]=500     {"payment_orders": [{"amount": "500"}]}
    metadata[order]=1234              {"metadata": {"order": "1234"}}
    metadata=                         {"metadata": ""}     (Stripe's "clear every key")
    scopes[]=a&scopes[]=b             {"scopes": ["a", "b"]}    (also scopes=a&scopes=b)
    card.exp_month=12                 {"card": {"exp_month": "12"}}  (google.api.http's a.b=)
    created=1767225600                {"created": {"gte": "1767225600", "lte": "1767225600"}}
                                      (Stripe's exact second, on any TimestampRange)

The message's descriptor decides what a key means (a map's key, a list's index, a field), so
that one `scopes=a` is still a list. Values stay strings: the transcoder converts them by the
field's type, as it does JSON values."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from paycore.edge.errors import parameter_invalid, parameter_unknown
from paycore.ranges import SECONDS_MAX
from paycore.transcoding import clear_field_of, is_map, is_well_known, message_of

PARAMETER_COUNT_MAX = 1000
_TIMESTAMP_RANGE = "paycore.v1.TimestampRange"
INDEX_DIGITS_MAX = 6
_KEY = re.compile(r"^([^\[\].]+)((?:\[[^\[\]]*\]|\.[^\[\].]+)*)$")
_TOKEN = re.compile(r"\[([^\[\]]*)\]|\.([^\[\].]+)")


class _Indexed(dict[int, Any]):
    """A repeated field while it is being filled: index -> element, made a list at the end."""


def parse_params(pairs: Iterable[tuple[str, str]], message: Descriptor) -> dict[str, Any]:
    """The JSON structure that `pairs` (already percent-decoded) spell for `message`."""
    result: dict[str, Any] = {}
    for count, (key, value) in enumerate(pairs):
        if count >= PARAMETER_COUNT_MAX:
            raise parameter_invalid(key, f"at most {PARAMETER_COUNT_MAX} parameters are accepted")
        matched = _KEY.match(key)
        if matched is None:
            raise parameter_invalid(key, "is not a parameter name (name, name[key] or name.sub)")
        tokens = [dot or bracket for bracket, dot in _TOKEN.findall(matched.group(2))]
        _insert(message, result, matched.group(1), tokens, value, key)
    return {name: _finished(value, name) for name, value in result.items()}


def _insert(
    message: Descriptor,
    target: dict[str, Any],
    name: str,
    tokens: list[str],
    value: str,
    key: str,
) -> None:
    field = message.fields_by_name.get(name)
    if field is None:
        raise parameter_unknown(key)
    if is_map(field):
        if not tokens and value == "":
            # Stripe's `metadata=`, "clear every key": transcoding.checked decides what it means.
            if name in target:
                raise parameter_invalid(key, "is given in two different shapes")
            target[name] = value
            return
        if not tokens or not tokens[0]:
            raise parameter_invalid(key, f"{name} is a map: use {name}[key]=value")
        entries = _container(target, name, dict, key)
        value_field = message_of(field).fields_by_name["value"]
        _place(value_field, entries, tokens[0], tokens[1:], value, key)
    elif not tokens and value == "" and clear_field_of(message, field) is not None:
        # Stripe's `discounts=`, "unset it", where the request has `clear_discounts`: as
        # `metadata=`, transcoding.checked turns it into that flag.
        if name in target:
            raise parameter_invalid(key, "is given in two different shapes")
        target[name] = value
    elif field.is_repeated:
        items = _container(target, name, _Indexed, key)
        index, rest = len(items), tokens
        if tokens and (tokens[0] == "" or tokens[0].isdigit()):
            index, rest = _index(tokens[0], len(items), key), tokens[1:]
        _place(field, items, index, rest, value, key)
    else:
        _place(field, target, name, tokens, value, key)


def _place(
    field: FieldDescriptor,
    target: dict[Any, Any],
    slot: Any,
    tokens: list[str],
    value: str,
    key: str,
) -> None:
    """Puts `value` (or, for a message, the field `tokens` name inside it) at target[slot]."""
    if _is_message(field):
        if not tokens:
            if value == "":
                return  # Stripe's `card=`: leaves the object unset
            if message_of(field).full_name != _TIMESTAMP_RANGE:
                raise parameter_invalid(key, "is an object: use key[field]=value")
            tokens, value = ["gte"], _exact_second(key, value)
            _place(field, target, slot, ["lte"], value, key)
        inner = target.setdefault(slot, {})
        if not isinstance(inner, dict):
            raise parameter_invalid(key, "is given both as a value and as an object")
        _insert(message_of(field), inner, tokens[0], tokens[1:], value, key)
        return
    if tokens:
        raise parameter_invalid(key, "is not an object")
    if slot in target:
        raise parameter_invalid(key, "is given more than once")
    target[slot] = value


def _exact_second(key: str, value: str) -> str:
    """Stripe's bare `created=<seconds>` (created at exactly that second), checked here where its
    name is still `created`: the range it makes is `created[gte]` and `created[lte]`."""
    if not value.isascii() or not value.isdigit() or int(value) > SECONDS_MAX:
        raise parameter_invalid(key, f"must be unix seconds, 0 to {SECONDS_MAX}")
    return value


def _container(target: dict[str, Any], name: str, kind: type[dict[Any, Any]], key: str) -> Any:
    found = target.setdefault(name, kind())
    if type(found) is not kind:
        raise parameter_invalid(key, "is given in two different shapes")
    return found


def _index(token: str, next_index: int, key: str) -> int:
    if token == "":
        return next_index
    if len(token) > INDEX_DIGITS_MAX:
        raise parameter_invalid(key, "has too large an index")
    return int(token)


def _is_message(field: FieldDescriptor) -> bool:
    """A message the bracket notation reaches into (well-known types are written as values)."""
    return field.type == FieldDescriptor.TYPE_MESSAGE and not is_well_known(message_of(field))


def _finished(value: Any, path: str) -> Any:
    """`value` with its lists made; `path` is its key as sent (`payment_orders[0]`). A list's
    indexes run 0, 1, 2, ... (in any order): after a gap, an error in an element would name an
    index the client never sent."""
    if isinstance(value, _Indexed):
        for position, index in enumerate(sorted(value)):
            if index != position:
                raise parameter_invalid(
                    f"{path}[{index}]",
                    f"list indexes run 0, 1, 2, ... without a gap ({path}[{position}] is missing)",
                )
        return [_finished(value[index], f"{path}[{index}]") for index in sorted(value)]
    if isinstance(value, dict):
        return {key: _finished(item, f"{path}[{key}]") for key, item in value.items()}
    return value
