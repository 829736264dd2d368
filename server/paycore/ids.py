"""Object ids: a Stripe-like prefix and a 128-bit, time-ordered number that carries its shard.

    acct_0Qb3RrUz1M0d9mWJhVKc4t
         └──── 22 base62 digits of: 48 bits unix ms | 12 bits logical shard | 68 bits random

Any id routes to its shard without a lookup. The digits are fixed-width and the alphabet is in
ASCII order, so sorting ids as strings sorts them by creation time (lists page by id).

docs/design.md sketched a 64-bit number; 64 bits cannot hold a millisecond clock, a shard and enough
randomness for processes that do not coordinate to avoid collisions, so ids are 128-bit.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BODY_LENGTH = 22
TIMESTAMP_BITS = 48
SHARD_BITS = 12
RANDOM_BITS = 68
MAX_LOGICAL_SHARDS = 1 << SHARD_BITS
HOME_LOGICAL_SHARD = 0
"""The logical shard of what is the platform's rather than a merchant's (its physical shard is
the home shard, `Shards.home`): reconciliation runs, the PSP dispute feed's position, the
first copy of a platform-wide blocklist item."""
PLATFORM_OWNER = "platform"
"""The owner of what is the platform's rather than a merchant's, on HOME_LOGICAL_SHARD (where a
merchant id would be): reconciliation's runs and the events it records for them
(`reconciliation.run.completed`), which operators read naming no merchant."""
_DIGIT_VALUES = {character: value for value, character in enumerate(BASE62_ALPHABET)}
# Decoding two digits per dict lookup halves the Python loop: ids are decoded on every call
# that names one, a thousand times per ledger batch (3,844 entries, about 300 KB).
_PAIR_VALUES = {
    first + second: _DIGIT_VALUES[first] * 62 + _DIGIT_VALUES[second]
    for first in BASE62_ALPHABET
    for second in BASE62_ALPHABET
}
# Encoding likewise: two digits per division (a new id is encoded a dozen times per payment).
_PAIR_DIGITS = tuple(first + second for first in BASE62_ALPHABET for second in BASE62_ALPHABET)


class Prefix(StrEnum):
    """Every object kind's prefix; ids are `<prefix>_<body>`."""

    ACCOUNT = "acct"
    API_KEY = "key"
    CUSTOMER = "cus"
    PAYMENT_METHOD = "pm"
    PAYMENT = "pay"
    PAYMENT_ORDER = "pord"
    PAYMENT_INTENT = "pi"
    SETUP_INTENT = "seti"
    REFUND = "re"
    BALANCE_TRANSACTION = "txn"
    BANK_ACCOUNT = "ba"
    PAYOUT = "po"
    PRODUCT = "prod"
    PRICE = "price"
    SUBSCRIPTION = "sub"
    SUBSCRIPTION_ITEM = "si"
    INVOICE = "in"
    INVOICE_LINE = "il"
    INVOICE_ITEM = "ii"
    TEST_CLOCK = "clock"
    EVENT = "evt"
    WEBHOOK_ENDPOINT = "we"
    LEDGER_ACCOUNT = "la"
    LEDGER_TRANSFER = "lt"
    LEDGER_ENTRY = "le"
    EXECUTION = "exe"
    # fraud (issue 5)
    RISK_ASSESSMENT = "fas"
    REVIEW = "prv"
    BLOCKLIST_ITEM = "rsli"
    VALUE_LIST = "rsl"
    EARLY_FRAUD_WARNING = "issfr"
    # webhooks (issue 15)
    WEBHOOK_DELIVERY = "wd"
    # reconciliation (issue 14)
    RECONCILIATION_RUN = "recon"
    DISCREPANCY = "disc"
    # disputes (issue 22)
    DISPUTE = "dp"
    # hosted payment pages (issue 21)
    CHECKOUT_SESSION = "cs"
    CHECKOUT_LINE_ITEM = "li"
    # separate charges and transfers (docs/connect.md)
    TRANSFER = "tr"
    TRANSFER_REVERSAL = "trr"
    APPLICATION_FEE = "fee"
    """A destination charge's fee: the charge's id under this prefix (pi_X's is fee_X)."""
    APPLICATION_FEE_REFUND = "fr"
    # coupons and discounts
    DISCOUNT = "di"
    COUPON = "co"
    PROMOTION_CODE = "promo"
    """A generated coupon id's (a merchant may choose any other id for a coupon)."""


class MalformedId(ValueError):
    """The text is not an id of the expected kind."""


@dataclass(frozen=True)
class ParsedId:
    prefix: str
    timestamp_ms: int
    logical_shard: int


def new_id(prefix: Prefix, logical_shard: int, *, timestamp_ms: int | None = None) -> str:
    _check_logical_shard(logical_shard)
    milliseconds = time.time_ns() // 1_000_000 if timestamp_ms is None else timestamp_ms
    number = (milliseconds << (SHARD_BITS + RANDOM_BITS)) | (logical_shard << RANDOM_BITS)
    number |= _sequence.next(milliseconds)
    return f"{prefix}_{encode_base62(number, BODY_LENGTH)}"


def new_merchant_id(prefix: Prefix, merchant_id: str) -> str:
    """A new id of one of the merchant's objects: on the merchant's logical shard, beside its
    other rows."""
    return new_id(prefix, remembered_logical_shard_of(merchant_id, Prefix.ACCOUNT))


def shard_account_id(logical_shard: int) -> str:
    """The account id that stands for the logical shard itself: its time and random bits are 0,
    so no merchant has it (a merchant's id carries the time it was made). It owns what an
    operator stores on the logical shard for no merchant (paycore.storage.idempotency
    .operator_owner), which a shard move therefore takes along."""
    _check_logical_shard(logical_shard)
    return f"{Prefix.ACCOUNT}_{encode_base62(logical_shard << RANDOM_BITS, BODY_LENGTH)}"


def _check_logical_shard(logical_shard: int) -> None:
    if not 0 <= logical_shard < MAX_LOGICAL_SHARDS:
        raise ValueError(f"logical shard {logical_shard} is outside 0..{MAX_LOGICAL_SHARDS - 1}")


class _MonotonicRandom:
    """The random part: fresh each millisecond, then counting up within it (as monotonic
    ULIDs do), so ids one process makes in the same millisecond keep their creation order.
    A fresh value leaves the top bit clear: 2**67 increments of room before it could carry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._milliseconds = -1
        self._value = 0

    def next(self, milliseconds: int) -> int:
        with self._lock:
            if milliseconds == self._milliseconds:
                self._value += 1
            else:
                self._milliseconds = milliseconds
                self._value = secrets.randbits(RANDOM_BITS - 1)
            return self._value


_sequence = _MonotonicRandom()


def parse_id(value: str, prefix: Prefix) -> ParsedId:
    number = _number_of(value, prefix)
    return ParsedId(
        prefix=prefix.value,
        timestamp_ms=number >> (SHARD_BITS + RANDOM_BITS),
        logical_shard=(number >> RANDOM_BITS) & (MAX_LOGICAL_SHARDS - 1),
    )


def logical_shard_of(value: str, prefix: Prefix) -> int:
    # Without a ParsedId: routing decodes an id per transfer, and a frozen dataclass costs
    # as much to build as the decoding itself.
    return (_number_of(value, prefix) >> RANDOM_BITS) & (MAX_LOGICAL_SHARDS - 1)


@lru_cache(maxsize=100_000)
def remembered_logical_shard_of(value: str, prefix: Prefix) -> int:
    """logical_shard_of, remembered: calls name the same accounts again and again, a ledger
    batch checks and routes each of its ids several times, and a payment routes its merchant's
    id about ten times. Raises MalformedId."""
    return logical_shard_of(value, prefix)


def _number_of(value: str, prefix: Prefix) -> int:
    head, separator, body = value.partition("_")
    if not separator or head != prefix:
        raise MalformedId(f"expected a {prefix}_ id")
    return decode_base62(body, BODY_LENGTH)


def encode_base62(number: int, width: int) -> str:
    if not 0 <= number < 62**width:
        raise ValueError(f"{number} needs more than {width} base62 digits")
    pairs = []
    while number:
        number, pair = divmod(number, 3844)
        pairs.append(_PAIR_DIGITS[pair])
    text = "".join(reversed(pairs))
    # An odd width: the last pair may start with a zero that is not one of the digits.
    return text.rjust(width, "0") if len(text) <= width else text[1:]


def decode_base62(text: str, width: int) -> int:
    if len(text) != width:
        raise MalformedId(f"expected {width} base62 digits")
    pairs = _PAIR_SLICES.get(width) or _pair_slices(width)
    try:
        number = _DIGIT_VALUES[text[0]] if width & 1 else 0
        for pair in pairs:
            number = number * 3844 + _PAIR_VALUES[text[pair]]
    except KeyError:
        character = next(character for character in text if character not in _DIGIT_VALUES)
        raise MalformedId(f"{character!r} is not a base62 digit") from None
    if number >> (TIMESTAMP_BITS + SHARD_BITS + RANDOM_BITS):
        raise MalformedId("the number is wider than 128 bits")
    return number


def _pair_slices(width: int) -> tuple[slice, ...]:
    """Where the two-digit pairs of a `width`-digit number are (after its first digit when
    `width` is odd)."""
    pairs = tuple(slice(start, start + 2) for start in range(width & 1, width, 2))
    if len(_PAIR_SLICES) < 64:
        _PAIR_SLICES[width] = pairs
    return pairs


_PAIR_SLICES: dict[int, tuple[slice, ...]] = {}


def random_base62(length: int) -> str:
    """A secret token of `length` base62 characters (5.95 bits each)."""
    # One draw of a uniform number below 62**length: every string equally likely, one syscall.
    return encode_base62(secrets.randbelow(62**length), length)
