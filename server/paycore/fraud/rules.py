"""A merchant's fraud policy: score thresholds and declarative rules over the features,
evaluated before the model. A rule fires when every one of its conditions holds; a BLOCK rule
wins over the model, a REVIEW rule holds the payment for an operator whatever the model says."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

RULES_VERSION = 1
"""Part of every assessment's model_version: bump when DEFAULT_RULES change."""


class Decision(IntEnum):
    """Ordered: the strongest of the rules', the blocklist's and the model's decisions wins.
    The numbers are paycore.v1.RiskDecision's."""

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
    # Card testing: a burst of attempts, or of distinct cards, from one IP.
    _rule("ip_velocity_1m", Decision.BLOCK, ip_attempts_1m=10),
    _rule("ip_card_velocity_1h", Decision.BLOCK, ip_cards_1h=8),
    # A card declined again and again is being guessed or is dead.
    _rule("card_declines_1h", Decision.BLOCK, card_declines_1h=5),
    _rule("customer_card_velocity_1d", Decision.REVIEW, customer_cards_1d=4),
    # Amount limit: US$20,000 and more waits for an operator.
    _rule("amount_limit", Decision.REVIEW, amount_usd=1_999_999),
    # A large first purchase with a new card from a country other than the billing country.
    _rule(
        "large_first_purchase_abroad",
        Decision.REVIEW,
        first_card_for_customer=0,
        country_mismatch=0,
        amount_usd=50_000,
    ),
)

DEFAULT_REVIEW_ABOVE = 500
DEFAULT_BLOCK_ABOVE = 800
DEFAULT_DEGRADED_REVIEW_ABOVE_USD = 10_000
"""Without the counters, payments above US$100 wait for review (docs/fraud.md, "Degradation")."""
RULES_MAX = 50
CONDITIONS_MAX = 5


@dataclass(frozen=True)
class Policy:
    review_above: int = DEFAULT_REVIEW_ABOVE
    block_above: int = DEFAULT_BLOCK_ABOVE
    rules: tuple[Rule, ...] = DEFAULT_RULES
    degraded_review_above_usd: int = DEFAULT_DEGRADED_REVIEW_ABOVE_USD
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
