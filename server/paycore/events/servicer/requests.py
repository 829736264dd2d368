"""EventService requests checked into the events domain's types."""

from __future__ import annotations

from paycore.errors import invalid
from paycore.events.models import TypeFilter
from paycore.events.types import WILDCARD_SUFFIX, is_type_filter


def type_filter(value: str) -> TypeFilter:
    if not value:
        return TypeFilter()
    if not is_type_filter(value):
        raise invalid("type", f"{value!r} is not an event type, nor <prefix>.* of one")
    if value.endswith(WILDCARD_SUFFIX):
        return TypeFilter(prefix=value.removesuffix("*"))
    return TypeFilter(exact=value)
