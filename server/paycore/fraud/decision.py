"""The decision: blocklists, then rules, then the degraded policy, then the model; the
strongest wins (docs/fraud.md, "The decision")."""

from __future__ import annotations

from paycore.fraud.features import PaymentFacts
from paycore.fraud.models import BlocklistType
from paycore.fraud.rules import AllowItem, Decision, Policy, Verdict


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
