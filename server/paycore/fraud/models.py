"""Fraud domain objects exchanged by the service and the repositories (not proto messages)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from paycore.records import Stored

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
