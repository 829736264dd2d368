"""The decision: blocklists, then rules, then the degraded policy, then the model; the
strongest wins (docs/fraud.md, "The decision")."""

from __future__ import annotations

from paycore.fraud.models import BlocklistType
from paycore.fraud.rules import Decision, Policy, Verdict


def decide(
    policy: Policy,
    features: dict[str, int],
    blocked: list[BlocklistType],
    score: int,
    top_features: tuple[str, ...],
    degraded: bool,
) -> Verdict:
    """Blocklists, then rules, then the degraded policy, then the model: the strongest
    decision wins; reasons come strongest first."""
    decision = Decision.ALLOW
    reasons: list[str] = []
    for kind in sorted(set(blocked), key=lambda kind: kind.value):
        reasons.append(kind.reason)
        decision = Decision.BLOCK
    for rule in policy.fired(features):
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
