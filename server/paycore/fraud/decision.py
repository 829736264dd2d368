"""The decision: blocklists, then rules, then the degraded policy, then the model; the
strongest wins (docs/fraud.md, "The decision")."""

from __future__ import annotations

from paycore.fraud.features import PaymentFacts
from paycore.fraud.models import BlocklistType
from paycore.fraud.rules import AllowItem, Decision, Policy, Verdict

SMALL_BELOW_USD = 500
"""US cents: below US$5 a payment with no sign of testing is not held by the model alone."""

TESTING_SIGNS = (
    "card_declines_1h",
    "customer_declines_1h",
    "ip_declines_1h",
    "merchant_declines_1m",
)
"""Declines of the card, the customer, the address, or at the merchant in the last minute: one
is ordinary (a mistyped or expired card, retried with another), more are a sign."""


def card_testing_unseen(features: dict[str, int]) -> bool:
    """A small payment without what card testing looks like: at most one decline around it and
    at most one card behind its customer and its address. The model was trained on generated
    payments whose only small ones are card testing and BIN attacks, and whose only ones
    without an email are BIN attacks, so it scores a lone small payment a merchant's server
    sends (no email, no client address: a secret-key CreatePaymentIntent) as fraud (US$0.50
    with a test card: 911). Card testing is a burst: the velocity rules and, once declines
    or several cards show, the model, still block it; a lone small payment risks little."""
    return (
        features["amount_usd"] < SMALL_BELOW_USD
        and all(features[name] <= 1 for name in TESTING_SIGNS)
        and features["ip_cards_1h"] <= 1
        and features["customer_cards_1h"] <= 1
    )


def decide(
    policy: Policy,
    features: dict[str, int],
    blocked: list[BlocklistType],
    score: int,
    top_features: tuple[str, ...],
    degraded: bool,
    allowed: tuple[AllowItem, ...] = (),
) -> Verdict:
    """Blocklists, then rules, then the degraded policy, then the model: the strongest
    decision wins; reasons come strongest first. A match on the merchant's allow list
    (`allowed`) allows what no blocklist or block rule blocks."""
    decision = Decision.ALLOW
    reasons: list[str] = []
    for kind in sorted(set(blocked), key=lambda kind: kind.value):
        reasons.append(kind.reason)
        decision = Decision.BLOCK
    fired = policy.fired(features)
    if allowed and not blocked and all(rule.action is not Decision.BLOCK for rule in fired):
        # The merchant vouches for this buyer: review rules and the model are overridden and
        # kept among the reasons for the audit trail.
        return Verdict(
            Decision.ALLOW,
            [item.reason for item in allowed] + [rule.name for rule in fired],
        )
    for rule in fired:
        reasons.append(rule.name)
        decision = max(decision, rule.action)
    if degraded:
        reasons.append("velocity_unavailable")
        if features["amount_usd"] > policy.degraded_review_above_usd:
            decision = max(decision, Decision.REVIEW)
    model_decision = policy.decision_of_score(score)
    if card_testing_unseen(features):
        model_decision = Decision.ALLOW
    if model_decision is not Decision.ALLOW:
        reasons.append("model_score_high")
    decision = max(decision, model_decision)
    reasons += [name for name in top_features if name not in reasons]
    return Verdict(Decision(decision), reasons)


def allow_matches(policy: Policy, facts: PaymentFacts) -> tuple[AllowItem, ...]:
    """The merchant's allow-list items the payment names."""
    if not policy.allow:
        return ()
    named = {
        BlocklistType.CUSTOMER: facts.customer,
        BlocklistType.EMAIL: facts.email,
        BlocklistType.CARD_FINGERPRINT: facts.card_fingerprint,
        BlocklistType.IP: facts.ip,
    }
    return tuple(item for item in policy.allow if item.value and named[item.type] == item.value)
