"""A merchant's fraud policy: score thresholds and declarative rules over the features,
evaluated before the model. A rule fires when every one of its conditions holds; a BLOCK rule
wins over the model, a REVIEW rule holds the payment for an operator whatever the model says."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from paycore.fraud.models import BlocklistType

RULES_VERSION = 2
"""Part of every assessment's model_version: bump when DEFAULT_RULES change."""


class Decision(IntEnum):
    """Ordered: the strongest of the rules', the blocklist's and the model's decisions wins.
    The numbers are those of RiskDecision in fraud.proto."""

    ALLOW = 1
    REVIEW = 2
    BLOCK = 3

    @property
    def code(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Condition:
    feature: str
    above: int


@dataclass(frozen=True)
class Rule:
    name: str
    conditions: tuple[Condition, ...]
    action: Decision

    def fires(self, features: Mapping[str, int]) -> bool:
        return all(features.get(c.feature, 0) > c.above for c in self.conditions)


def _rule(name: str, action: Decision, **above: int) -> Rule:
    return Rule(name, tuple(Condition(f, value) for f, value in above.items()), action)


DEFAULT_RULES: tuple[Rule, ...] = (
    # Card testing: a burst of attempts, or of distinct cards, from one IP at this merchant.
    _rule("ip_velocity_1m", Decision.BLOCK, ip_attempts_1m=10),
    _rule("ip_card_velocity_1h", Decision.BLOCK, ip_cards_1h=8),
    # A card declined again and again is being guessed or is dead.
    _rule("card_declines_1h", Decision.BLOCK, card_declines_1h=5),
    # An account trying card after card, and being declined.
    _rule("customer_card_testing", Decision.BLOCK, customer_cards_1h=4, customer_declines_1h=2),
    # A BIN attack from rotating addresses: no IP stands out, but the merchant's last minute is
    # mostly declines of small first purchases (a share, so a large merchant's ordinary
    # declines do not trip it).
    _rule(
        "merchant_decline_burst",
        Decision.BLOCK,
        merchant_declines_1m=5,
        merchant_decline_pct_1m=50,
        first_purchase=0,
    ),
    _rule("customer_card_velocity_1d", Decision.REVIEW, customer_cards_1d=4),
    # Refund abuse: many purchases in a day with several cards.
    _rule("customer_purchase_spree", Decision.REVIEW, customer_cards_1d=2, customer_attempts_1d=5),
    # Account takeover: the third purchase within the hour from abroad (US$200 and more).
    _rule("customer_spree_abroad", Decision.REVIEW, customer_attempts_1h=2, abroad_usd=19_999),
    # A card the platform saw at three merchants or more within the hour, paying from abroad
    # (US$100 and more): a stolen card being cashed out (three shops in an hour at home is
    # an afternoon at the mall).
    _rule(
        "card_many_merchants_abroad",
        Decision.REVIEW,
        platform_card_merchants_1h=2,
        abroad_usd=9_999,
    ),
    # Amount limit: US$20,000 and more waits for an operator.
    _rule("amount_limit", Decision.REVIEW, amount_usd=1_999_999),
    # A first purchase (a guest, or an account's new card) of US$500 and more with the buyer's
    # IP in another country than the card or the billing address.
    _rule("large_first_purchase_abroad", Decision.REVIEW, first_purchase=0, abroad_usd=49_999),
    # Any purchase of US$1,000 and more from abroad, whoever buys.
    _rule("large_purchase_abroad", Decision.REVIEW, abroad_usd=99_999),
    # A first purchase of US$3,000 and more, even at home.
    _rule("large_first_purchase", Decision.REVIEW, first_purchase=0, amount_usd=299_999),
    # A disposable address on a first purchase of US$250 and more.
    _rule(
        "disposable_email_first_purchase",
        Decision.REVIEW,
        email_kind=2,
        first_purchase=0,
        amount_usd=24_999,
    ),
)

DEFAULT_REVIEW_ABOVE = 500
DEFAULT_BLOCK_ABOVE = 800
DEFAULT_DEGRADED_REVIEW_ABOVE_USD = 10_000
"""Without the counters, payments above US$100 wait for review (docs/fraud.md, "Degradation")."""
RULES_MAX = 50
CONDITIONS_MAX = 5


ALLOWABLE_TYPES = (
    BlocklistType.CUSTOMER,
    BlocklistType.EMAIL,
    BlocklistType.CARD_FINGERPRINT,
    BlocklistType.IP,
)
ALLOW_MAX = 500


@dataclass(frozen=True)
class AllowItem:
    type: BlocklistType
    value: str

    @property
    def reason(self) -> str:
        return self.type.reason.replace("blocklisted_", "allowlisted_")


@dataclass(frozen=True)
class Policy:
    review_above: int = DEFAULT_REVIEW_ABOVE
    block_above: int = DEFAULT_BLOCK_ABOVE
    rules: tuple[Rule, ...] = DEFAULT_RULES
    degraded_review_above_usd: int = DEFAULT_DEGRADED_REVIEW_ABOVE_USD
    allow: tuple[AllowItem, ...] = ()
    """The merchant's allow list: a payment naming one of these is allowed whatever the model
    and the review rules say (a blocklist match or a block rule still blocks it)."""
    updated: int = 0
    """Unix seconds of the last update; 0 for the defaults."""

    def decision_of_score(self, score: int) -> Decision:
        if score > self.block_above:
            return Decision.BLOCK
        if score > self.review_above:
            return Decision.REVIEW
        return Decision.ALLOW

    def fired(self, features: Mapping[str, int]) -> list[Rule]:
        """The rules that fire, blocks first."""
        fired = [rule for rule in self.rules if rule.fires(features)]
        return sorted(fired, key=lambda rule: -rule.action)


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class Verdict:
    """How the decision came about (reasons strongest first)."""

    decision: Decision
    reasons: list[str] = field(default_factory=list)


def rules_to_json(rules: tuple[Rule, ...]) -> list[dict[str, Any]]:
    return [
        {
            "name": rule.name,
            "conditions": [{"feature": c.feature, "above": c.above} for c in rule.conditions],
            "action": rule.action.code,
        }
        for rule in rules
    ]


def allow_to_json(allow: tuple[AllowItem, ...]) -> list[dict[str, str]]:
    return [{"type": item.type.value, "value": item.value} for item in allow]


def allow_from_json(document: list[dict[str, str]]) -> tuple[AllowItem, ...]:
    return tuple(AllowItem(BlocklistType(item["type"]), item["value"]) for item in document)


def rules_from_json(document: list[dict[str, Any]]) -> tuple[Rule, ...]:
    return tuple(
        Rule(
            name=item["name"],
            conditions=tuple(
                Condition(condition["feature"], int(condition["above"]))
                for condition in item["conditions"]
            ),
            action=Decision[item["action"].upper()],
        )
        for item in document
    )
