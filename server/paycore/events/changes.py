"""Stripe's `data.previous_attributes` of an `*.updated` event: the fields of the object that
the change altered, each with its value before it, as the REST edge renders the object
(paycore.stripe_json), so that a webhook consumer reads the old value where it reads the new
one in `data.object`. A map (metadata) gives only its changed keys, a key that was absent as
null, as Stripe's does."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message
from paycore.stripe_json import stripe_json

MAPS = frozenset({"metadata"})
"""Fields whose changed keys alone are given (Stripe's hashes of the merchant's)."""


def previous_attributes(before: Message, after: Message) -> dict[str, Any] | None:
    """The changed fields' old values; None when the rendered objects are alike."""
    old, new = stripe_json(before), stripe_json(after)
    changed: dict[str, Any] = {}
    for key in [*old, *(key for key in new if key not in old)]:
        was, now = old.get(key), new.get(key)
        if was == now:
            continue
        if key in MAPS and isinstance(was, dict) and isinstance(now, dict):
            changed[key] = {k: was.get(k) for k in [*was, *now] if was.get(k) != now.get(k)}
        else:
            changed[key] = was
    return changed or None
