"""EventService requests checked into the events domain's types."""

from __future__ import annotations

from collections.abc import Sequence

from paycore.errors import invalid
from paycore.events.models import TypeFilter
from paycore.events.types import OPERATOR_EVENT_TYPES, WILDCARD_SUFFIX, is_type_filter

TYPES_MAX = 20
"""Stripe's limit on ListEvents' `types`."""


def hidden_types(operator: bool) -> tuple[str, ...]:
    """The event types a caller does not read: the operators' (OPERATOR_EVENT_TYPES) unless it
    is an operator."""
    return () if operator else tuple(sorted(OPERATOR_EVENT_TYPES))


def type_filter(value: str, values: Sequence[str] = (), *, operator: bool = False) -> TypeFilter:
    """ListEvents' `type` (one pattern) or `types` (up to TYPES_MAX of them), not both; the
    operators' types hidden from any other caller."""
    if value and values:
        raise invalid("types", "give type or types, not both")
    if len(values) > TYPES_MAX:
        raise invalid("types", f"at most {TYPES_MAX} event types are accepted")
    patterns = [_pattern("type", value)] if value else []
    patterns += [_pattern(f"types[{index}]", item) for index, item in enumerate(values)]
    exact = [pattern for pattern in patterns if not pattern.endswith(WILDCARD_SUFFIX)]
    prefixes = [pattern.removesuffix("*") for pattern in patterns if pattern not in exact]
    return TypeFilter(
        exact=tuple(dict.fromkeys(exact)),
        prefixes=tuple(dict.fromkeys(prefixes)),
        hidden=hidden_types(operator),
    )


def _pattern(param: str, value: str) -> str:
    if not is_type_filter(value):
        raise invalid(param, f"{value!r} is not an event type, nor <prefix>.* of one")
    return value
