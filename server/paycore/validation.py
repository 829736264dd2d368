"""Input checks shared by every servicer: each failure is INVALID_ARGUMENT naming the field.

They run before any state changes, so a bad request changes nothing.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Mapping
from typing import Protocol
from urllib.parse import urlsplit

from google.protobuf.descriptor import EnumDescriptor
from google.protobuf.message import Message
from paycore.errors import ApiError, Reason, invalid, missing
from paycore.ids import MalformedId, Prefix, remembered_logical_shard_of
from paycore.iso import COUNTRIES, CURRENCY_EXPONENTS, amount_max
from paycore.ranges import SECONDS_MAX, SecondsRange

DEFAULT_LIST_LIMIT = 10
MAX_LIST_LIMIT = 100
# Stripe's metadata limits.
METADATA_KEYS_MAX = 50
METADATA_KEY_LENGTH_MAX = 40
METADATA_VALUE_LENGTH_MAX = 500
EMAIL_LENGTH_MAX = 254
# An object's free-text `description` (a customer's, a payment's, a payout's, ...).
DESCRIPTION_LENGTH_MAX = 1000
# Stripe's transfer_group: a label grouping a charge with the transfers paying it out.
TRANSFER_GROUP_LENGTH_MAX = 200
# A URL paycore sends a customer's browser to (a checkout's success_url, an intent's return_url).
URL_LENGTH_MAX = 2048
# PostgreSQL text and jsonb cannot hold U+0000: refused here rather than failing the write.
NUL = "\x00"
NUL_REFUSED = "must not contain the NUL character (U+0000)"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def text(param: str, value: str, *, maximum: int, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise missing(param)
    if len(value) > maximum:
        raise ApiError(Reason.PARAMETER_TOO_LONG, param=param, maximum=maximum)
    if NUL in value:
        raise invalid(param, NUL_REFUSED)
    return value


def description(value: str) -> str:
    """An object's `description`: at most DESCRIPTION_LENGTH_MAX characters, may be empty."""
    return text("description", value, maximum=DESCRIPTION_LENGTH_MAX)


def transfer_group(value: str) -> str:
    """A payment intent's or a transfer's `transfer_group`: at most 200 characters, may be
    empty."""
    return text("transfer_group", value, maximum=TRANSFER_GROUP_LENGTH_MAX)


ID_PREFIX_METADATA = "prefix"
"""ID_MALFORMED's metadata: the prefix the id should have had (`pi`), by which the edge names the
kind of an id in its path that names nothing ("No such payment_intent: 'pi_123'")."""


def malformed_id(param: str, prefix: str) -> ApiError:
    return ApiError(
        Reason.ID_MALFORMED, param=param, prefix=prefix, metadata={ID_PREFIX_METADATA: prefix}
    )


def object_id(param: str, value: str, prefix: Prefix, *, required: bool = True) -> str:
    if not value:
        if required:
            raise missing(param)
        return value
    try:
        remembered_logical_shard_of(value, prefix)
    except MalformedId:
        raise malformed_id(param, prefix.value) from None
    return value


CHARGE_ID = re.compile(r"^ch_[A-Za-z0-9]{1,250}$")
"""The PSP's charge ids (Stripe's shape): not paycore's own, so with no shard nor time in them."""


def charge_id(param: str, value: str, *, required: bool = True) -> str:
    """A "ch_..." (INVALID_ARGUMENT ID_MALFORMED naming `param` otherwise)."""
    if not value:
        if required:
            raise missing(param)
        return value
    if not CHARGE_ID.match(value):
        raise malformed_id(param, "ch")
    return value


def url(param: str, value: str, *, required: bool = True) -> str:
    """An absolute http or https URL of at most URL_LENGTH_MAX characters ("" when absent and
    not required)."""
    value = text(param, value, maximum=URL_LENGTH_MAX, required=required)
    if not value:
        return value
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise invalid(param, "must be an http or https URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc or not value.isprintable():
        raise invalid(param, "must be an http or https URL")
    return value


def email(param: str, value: str, *, required: bool = True) -> str:
    value = text(param, value, maximum=EMAIL_LENGTH_MAX, required=required)
    if value and not _EMAIL.match(value):
        raise invalid(param, "must be an email address")
    return value


def country(param: str, value: str) -> str:
    return _code(param, value, value.upper(), COUNTRIES, "an ISO 3166-1 alpha-2 country code")


def currency(param: str, value: str) -> str:
    return _code(param, value, value.lower(), CURRENCY_EXPONENTS, _CURRENCY_CODE)


_CURRENCY_CODE = "a supported ISO 4217 currency code"


def _code(param: str, value: str, code: str, codes: Collection[str], what: str) -> str:
    """`code` (`value` in the case of `codes`) if `codes` has it."""
    if not value:
        raise missing(param)
    if code not in codes:
        raise invalid(param, f"{value[:8]!r} is not {what}")
    return code


SETTLEMENT_CURRENCIES_MAX = 10


def currencies(param: str, values: list[str]) -> tuple[str, ...]:
    """A list of distinct currencies in their order (settlement currencies, issue 19)."""
    if len(values) > SETTLEMENT_CURRENCIES_MAX:
        raise invalid(param, f"at most {SETTLEMENT_CURRENCIES_MAX} currencies")
    found = tuple(currency(f"{param}[{index}]", value) for index, value in enumerate(values))
    if len(set(found)) != len(found):
        raise invalid(param, "each currency at most once")
    return found


def amount(param: str, value: int, currency: str, *, minimum: int = 1) -> int:
    """A money amount in minor units of `currency` (already checked with `currency()`), within
    the currency's bounds (paycore.iso.amount_max)."""
    if currency not in CURRENCY_EXPONENTS:
        raise invalid(param, f"{currency[:8]!r} is not {_CURRENCY_CODE}")
    maximum = amount_max(currency)
    if value < minimum:
        raise invalid(param, f"must be at least {minimum} (minor units of {currency})")
    if value > maximum:
        raise ApiError(Reason.AMOUNT_TOO_LARGE, param=param, maximum=maximum, currency=currency)
    return value


def given(message: Message, name: str) -> int | None:
    """The value of `message`'s proto3 `optional` number field `name`, None when it was left
    out: a required one left out is PARAMETER_MISSING, a 0 given PARAMETER_INVALID, as at
    Stripe (`required_amount`)."""
    return int(getattr(message, name)) if message.HasField(name) else None


def required_amount(param: str, value: int | None, currency: str) -> int:
    """`amount()` of a required amount, None (left out, `given`) being PARAMETER_MISSING."""
    if value is None:
        raise missing(param)
    return amount(param, value, currency)


def metadata(param: str, value: Mapping[str, str], *, removals: bool = False) -> dict[str, str]:
    """A request's metadata, checked. A key given an empty value unsets it, as Stripe's: a
    create leaves it out; an update (`removals`: `runtime.servicing.metadata_change`) keeps it
    as the removal it asks for."""
    if len(value) > METADATA_KEYS_MAX:
        raise invalid(param, f"at most {METADATA_KEYS_MAX} keys")
    for key, item in value.items():
        if NUL in key:
            raise invalid(param, f"keys: {NUL_REFUSED}")
        if not key or len(key) > METADATA_KEY_LENGTH_MAX:
            raise invalid(f"{param}[{key}]", "keys are 1 to 40 characters")
        if NUL in item:
            raise invalid(f"{param}[{key}]", NUL_REFUSED)
        if len(item) > METADATA_VALUE_LENGTH_MAX:
            raise ApiError(
                Reason.PARAMETER_TOO_LONG,
                param=f"{param}[{key}]",
                maximum=METADATA_VALUE_LENGTH_MAX,
            )
    return dict(value) if removals else {key: item for key, item in value.items() if item}


def list_limit(value: int) -> int:
    if value == 0:
        return DEFAULT_LIST_LIMIT
    if not 1 <= value <= MAX_LIST_LIMIT:
        raise invalid("limit", f"must be between 1 and {MAX_LIST_LIMIT}")
    return value


TIMESTAMP_BOUNDS = ("gt", "gte", "lt", "lte")


def timestamp_range(param: str, bounds: Message) -> SecondsRange:
    """A list's range of unix seconds (a common.proto TimestampRange, Stripe's `created[gte]`):
    each bound given 0..SECONDS_MAX, refused naming it as the REST edge names a nested field
    (`created.gt`)."""
    given: dict[str, int] = {}
    for name in TIMESTAMP_BOUNDS:
        if bounds.HasField(name):
            value = getattr(bounds, name)
            if not 0 <= value <= SECONDS_MAX:
                raise invalid(f"{param}.{name}", f"must be unix seconds, 0 to {SECONDS_MAX}")
            given[name] = value
    return SecondsRange.of(**given)


ENUM_METADATA, ENUM_VALUE_METADATA, ENUM_ACCEPTED_METADATA = "enum", "value", "accepted"
"""PARAMETER_UNKNOWN_ENUM's ErrorInfo metadata: the enum's full name, the number given and the
numbers taken (comma-separated)."""


class ProtoEnum(Protocol):
    """A generated enum type (`payout_pb2.PayoutStatus`): what names its values."""

    DESCRIPTOR: EnumDescriptor


def enum_value(param: str, value: int, known: Mapping[int, object], enum: ProtoEnum) -> int:
    """`value` if the call takes it (`known`'s numbers, of the proto `enum`). Proto3 enums are
    open: any number arrives intact, so one the call does not take (undefined, or defined and
    not taken here) is refused here, PARAMETER_UNKNOWN_ENUM naming `param` and the values it
    takes by their proto names (UNSPECIFIED is leaving the field out, not a value to offer: of
    a field whose `known` has not 0, a required one, it is PARAMETER_MISSING).
    The ErrorInfo carries the enum and the numbers taken, from which the REST edge says the
    same with the lowercase names a JSON client sends (paycore.edge.errors)."""
    if value in known:
        return value
    if value == 0:  # UNSPECIFIED, what a field left out reads as: a required enum's absence
        raise missing(param)
    descriptor = enum.DESCRIPTOR
    taken = [choice for choice in descriptor.values if choice.number in known and choice.number]
    given = descriptor.values_by_number.get(value)
    raise ApiError(
        Reason.PARAMETER_UNKNOWN_ENUM,
        param=param,
        value=value if given is None else given.name,
        accepted=", ".join(choice.name for choice in taken),
        metadata={
            ENUM_METADATA: descriptor.full_name,
            ENUM_VALUE_METADATA: str(value),
            ENUM_ACCEPTED_METADATA: ",".join(str(choice.number) for choice in taken),
        },
    )


def ip_address(param: str, value: str) -> str:
    """An IPv4 or IPv6 address in its canonical text form, or empty. An IPv4 address written
    the IPv6 way (::ffff:a.b.c.d, as a dual-stack socket reports an IPv4 peer) is the IPv4
    address itself, so both forms are one buyer's address to fraud's counters and lists."""
    value = value.strip()
    if not value:
        return value
    try:
        parsed = ipaddress.ip_address(value)
    except ValueError:
        raise invalid(param, "must be an IPv4 or IPv6 address") from None
    mapped = parsed.ipv4_mapped if isinstance(parsed, ipaddress.IPv6Address) else None
    return str(mapped or parsed)
