"""The hand-written evaluation set (cases.json): realistic payments, each with the context it
arrives in (the payments before it, the merchant's lists) and the decision a risk analyst
expects, with why. None of it is generated, and none of it is ever a training row: it judges the
whole decision (blocklists, rules, model) on cases the generator did not write.

A case is replayed through the in-memory counters (paycore.fraud.replay, the Redis script's
semantics): its history first, oldest first, then the payment, decided by the same `decide`
scoring uses. docs/fraud.md ("The evaluation set") describes the file's fields.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from paycore.fraud.decision import allow_matches, decide
from paycore.fraud.features import PaymentFacts, feature_vector
from paycore.fraud.model import Model
from paycore.fraud.models import BlocklistType
from paycore.fraud.replay import MemoryCounters
from paycore.fraud.rules import DEFAULT_POLICY, AllowItem, Decision, Policy

CASES_FILE = Path(__file__).resolve().parent / "cases.json"
DEFAULT_MERCHANT = "acct_evalshop"
PASS_SHARE = 0.95
"""The bar: at least this share of the cases decided as expected (and no ordinary purchase
blocked)."""

_HISTORY_CONTROLS = frozenset(
    [
        "minutes_before",
        "repeat",
        "declined",
        "every_seconds",
        "new_card_each",
        "new_ip_each",
        "merchant",
        "source",
    ]
)
_PAYMENT_FIELDS = (
    "amount",
    "currency",
    "card_fingerprint",
    "card_brand",
    "card_country",
    "customer",
    "ip",
    "ip_country",
    "email",
    "country",
)


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    ordinary: bool
    """An ordinary purchase: it must never be blocked."""
    expect: Decision
    why: str
    payment: PaymentFacts
    history: tuple[tuple[PaymentFacts, bool], ...]
    """Earlier payments (facts, declined), oldest first."""
    blocklist: tuple[tuple[str, BlocklistType, str], ...]
    """(merchant or "" for platform-wide, type, value)."""
    allow: tuple[tuple[str, AllowItem], ...]
    """(merchant, item): merchants' allow lists."""

    @property
    def policy(self) -> Policy:
        """The default policy with the paying merchant's allow list."""
        merchant = self.payment.merchant
        return replace(
            DEFAULT_POLICY, allow=tuple(item for owner, item in self.allow if owner == merchant)
        )


@dataclass(frozen=True)
class Outcome:
    case: Case
    decision: Decision
    score: int
    reasons: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return self.decision is self.case.expect


@dataclass(frozen=True)
class SetResult:
    outcomes: tuple[Outcome, ...]

    @property
    def passed(self) -> int:
        return sum(outcome.passed for outcome in self.outcomes)

    @property
    def share(self) -> float:
        return self.passed / len(self.outcomes) if self.outcomes else 0.0

    @property
    def ordinary_blocked(self) -> tuple[Outcome, ...]:
        return tuple(
            outcome
            for outcome in self.outcomes
            if outcome.case.ordinary and outcome.decision is Decision.BLOCK
        )

    @property
    def meets_bar(self) -> bool:
        return self.share >= PASS_SHARE and not self.ordinary_blocked


def load_cases(path: Path = CASES_FILE) -> list[Case]:
    document = json.loads(path.read_text())
    return [_case(item) for item in document["cases"]]


def run_case(model: Model, case: Case) -> Outcome:
    counters = MemoryCounters()
    for facts, declined in case.history:
        counters.observe(facts)
        if declined:
            counters.record_decline(facts)
    velocity = counters.observe(case.payment)
    features, vector = feature_vector(case.payment, velocity)
    scored = model.score(vector)
    score = min(max(round(scored.probability * 1000), 0), 1000)
    policy = case.policy
    verdict = decide(
        policy,
        features,
        _blocked(case),
        score,
        scored.top_features,
        degraded=False,
        allowed=allow_matches(policy, case.payment),
    )
    return Outcome(case, verdict.decision, score, tuple(verdict.reasons))


def run_cases(model: Model, cases: list[Case] | None = None) -> SetResult:
    chosen = load_cases() if cases is None else cases
    return SetResult(tuple(run_case(model, case) for case in chosen))


def _blocked(case: Case) -> list[BlocklistType]:
    facts = case.payment
    values = {
        BlocklistType.CARD_FINGERPRINT: (facts.card_fingerprint,),
        BlocklistType.EMAIL: (facts.email,),
        BlocklistType.IP: (facts.ip,),
        BlocklistType.CUSTOMER: (facts.customer,),
        BlocklistType.COUNTRY: (facts.country, facts.card_country, facts.ip_country),
    }
    return [
        kind
        for merchant, kind, value in case.blocklist
        if merchant in ("", facts.merchant) and value and value in values[kind]
    ]


def _timestamp_ms(text: str) -> int:
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(moment.timestamp() * 1000)


def _facts(
    fields: Mapping[str, Any],
    merchant: str,
    payment: str,
    timestamp_ms: int,
    card_observed: bool = True,
) -> PaymentFacts:
    """A payment through the payment flow (its card the vault's) unless `card_observed` is
    False (a ScorePayment call naming a card of the caller's choosing)."""
    age_days = fields.get("customer_age_days")
    created_s = 0
    if fields.get("customer") and age_days is not None:
        created_s = timestamp_ms // 1000 - int(float(age_days) * 86_400)
    values = {name: fields.get(name, "") for name in _PAYMENT_FIELDS}
    return PaymentFacts(
        merchant=merchant,
        payment=payment,
        amount=int(values.pop("amount")),
        currency=str(values.pop("currency")),
        customer_created_s=created_s,
        timestamp_ms=timestamp_ms,
        card_observed=card_observed,
        **{name: str(value) for name, value in values.items()},
    )


def _case(item: Mapping[str, Any]) -> Case:
    merchant = item.get("merchant", DEFAULT_MERCHANT)
    at_ms = _timestamp_ms(item["at"])
    payment = dict(item["payment"])
    history: list[tuple[PaymentFacts, bool]] = []
    for index, entry in enumerate(item.get("history", [])):
        history += _history(item["id"], index, entry, payment, merchant, at_ms)
    history.sort(key=lambda pair: pair[0].timestamp_ms)
    return Case(
        id=item["id"],
        category=item["category"],
        ordinary=bool(item.get("ordinary", False)),
        expect=Decision[item["expect"].upper()],
        why=item["why"],
        payment=_facts(payment, merchant, f"pay_{item['id']}", at_ms),
        history=tuple(history),
        blocklist=tuple(
            (entry.get("merchant", merchant), BlocklistType(entry["type"]), entry["value"])
            for entry in item.get("blocklist", [])
        ),
        allow=tuple(
            (
                entry.get("merchant", merchant),
                AllowItem(BlocklistType(entry["type"]), entry["value"]),
            )
            for entry in item.get("allow", [])
        ),
    )


def _history(
    case_id: str,
    index: int,
    entry: Mapping[str, Any],
    payment: Mapping[str, Any],
    merchant: str,
    at_ms: int,
) -> list[tuple[PaymentFacts, bool]]:
    """One history entry: `repeat` payments like the case's own (with the entry's fields
    instead), the first `minutes_before` the case and then every `every_seconds`; `declined`
    of them (or all, for true) declined, spread evenly; `new_card_each` gives each its own card
    and `new_ip_each` its own address."""
    repeat = int(entry.get("repeat", 1))
    declined = entry.get("declined", 0)
    declined_count = repeat if declined is True else int(declined)
    start_ms = at_ms - int(float(entry["minutes_before"]) * 60_000)
    every_ms = int(float(entry.get("every_seconds", 60)) * 1000)
    overrides = {key: value for key, value in entry.items() if key not in _HISTORY_CONTROLS}
    fields = {**payment, **overrides}
    rows = []
    for number in range(repeat):
        if entry.get("new_card_each"):
            fields = {**fields, "card_fingerprint": f"{case_id}h{index}c{number}"}
        if entry.get("new_ip_each"):
            fields = {**fields, "ip": f"198.51.{index % 250}.{number % 250 + 1}"}
        facts = _facts(
            fields,
            entry.get("merchant", merchant),
            f"pay_{case_id}_h{index}_{number}",
            start_ms + number * every_ms,
            card_observed=entry.get("source", "payment") == "payment",
        )
        spread = (number + 1) * declined_count // repeat > number * declined_count // repeat
        rows.append((facts, spread))
    return rows
