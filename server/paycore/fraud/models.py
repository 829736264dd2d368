"""Fraud domain objects exchanged by the service and the repositories (not proto messages)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from paycore.records import MetadataChange, Stored

PLATFORM = ""
"""The merchant_id of platform-wide blocklist items."""


class BlocklistType(Enum):
    CARD_FINGERPRINT = "card_fingerprint"
    EMAIL = "email"
    IP = "ip"
    CUSTOMER = "customer"
    COUNTRY = "country"

    @property
    def reason(self) -> str:
        """The assessment reason of a match."""
        short = {"card_fingerprint": "card"}.get(self.value, self.value)
        return f"blocklisted_{short}"


STRIPE_ITEM_TYPES = {
    BlocklistType.CARD_FINGERPRINT: "card_fingerprint",
    BlocklistType.EMAIL: "email",
    BlocklistType.IP: "ip_address",
    BlocklistType.CUSTOMER: "customer_id",
    BlocklistType.COUNTRY: "country",
}
"""A value list's `item_type` (Stripe's name) of each kind of value a payment is matched on."""

DEFAULT_LIST_PREFIX = "rsl_block_"
"""A merchant's default block list of an item type is `rsl_block_<item_type>` (alias
`block_list_<item_type>`): the blocklist's items of that type, never stored as a list."""


class ReviewStatus(Enum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"


class OutcomeLabel(Enum):
    FRAUDULENT = "fraudulent"
    LEGITIMATE = "legitimate"


@dataclass(frozen=True)
class BlocklistItem(Stored):
    """A blocked value; its merchant_id is PLATFORM ("") for a platform-wide item."""

    type: BlocklistType
    value: str
    reason: str
    metadata: dict[str, str]
    value_list: str = ""
    """The Radar value list ("rsl_...") it is on; "" for the blocklist itself, whose items of
    each type are the merchant's default block list of that type (DEFAULT_LIST_PREFIX)."""


@dataclass(frozen=True)
class ValueList(Stored):
    """A Radar value list: a named list of values of one type. A rule naming its alias
    (`@alias` as a condition's feature) fires for a payment whose value is on it."""

    alias: str
    name: str
    item_type: BlocklistType
    metadata: dict[str, str]

    @property
    def is_default(self) -> bool:
        return self.id.startswith(DEFAULT_LIST_PREFIX)

    @property
    def stored_id(self) -> str:
        """What its items' `value_list` holds: "" for a default list (the blocklist)."""
        return "" if self.is_default else self.id


def default_list(merchant_id: str, item_type: BlocklistType) -> ValueList:
    name = STRIPE_ITEM_TYPES[item_type]
    return ValueList(
        id=f"{DEFAULT_LIST_PREFIX}{name}",
        merchant_id=merchant_id,
        created=0,
        alias=f"block_list_{name}",
        name=f"Default block list ({name})",
        item_type=item_type,
        metadata={},
    )


@dataclass(frozen=True)
class NewValueList:
    alias: str
    name: str
    item_type: BlocklistType
    metadata: dict[str, str]


@dataclass(frozen=True)
class ValueListChanges:
    """An update: what is None stays."""

    alias: str | None
    name: str | None
    metadata: MetadataChange | None


@dataclass(frozen=True)
class EarlyFraudWarning(Stored):
    """An issuer's warning that a charge may be fraudulent (Stripe's radar.early_fraud_warning),
    from the PSP's feed."""

    psp_warning: str
    charge: str
    payment_intent_id: str
    fraud_type: str
    actionable: bool = True
    """Neither disputed nor refunded in full (read with it)."""


@dataclass(frozen=True)
class Review(Stored):
    payment: str
    assessment_id: str
    status: ReviewStatus
    score: int
    reasons: tuple[str, ...]
    amount: int
    currency: str
    note: str
    closed: int
    charge: str = ""
    """The "ch_..." the held intent was charged with once approved (read with the review from
    the intent, never stored on it); "" before and for a payment scored alone."""


@dataclass(frozen=True)
class Assessment:
    id: str
    merchant_id: str
    payment: str
    score: int
    decision: str
    reasons: tuple[str, ...]
    model_version: str
    generator_seed: int
    degraded: bool
    amount: int
    currency: str
    facts: dict[str, object]
    features: dict[str, int]
    label: str | None
    labelled: int
