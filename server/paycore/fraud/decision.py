"""The decision: blocklists, then rules, then the degraded policy, then the model; the
strongest wins (docs/fraud.md, "The decision"). A test-mode merchant's Stripe test card is
decided by its merchant's own rules and lists, and by its documented outcome (docs/fraud.md,
"Test cards")."""

from __future__ import annotations

from paycore.fraud.features import PaymentFacts
from paycore.fraud.models import BlocklistType
from paycore.fraud.rules import DEFAULT_RULES, AllowItem, Decision, Policy, Rule, Verdict

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


TEST_CARD = "test_card"
"""The reason of every test card's assessment: the platform's own signals did not decide it."""

TEST_CARD_RULES = {
    "pm_card_radarBlock": Rule("test_card_radar_block", (), Decision.BLOCK),
    "pm_card_riskLevelHighest": Rule("test_card_risk_level_highest", (), Decision.BLOCK),
    "pm_card_riskLevelElevated": Rule("test_card_risk_level_elevated", (), Decision.REVIEW),
}
"""Stripe's Radar test cards (by the name paycore.customer.test_methods gives their number):
their documented fraud outcome, as a rule that always fires (no conditions). Like any block
rule, the allow list does not override a block."""


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
    test_card: str = "",
) -> Verdict:
    """Blocklists, then rules, then the degraded policy, then the model: the strongest
    decision wins; reasons come strongest first. A match on the merchant's allow list
    (`allowed`) allows what no blocklist or block rule blocks. `test_card`: a test-mode
    merchant's payment flow charges this Stripe test card (its name; "" otherwise): the
    platform's own signals (its default rules, the degraded policy, the model) are named but
    decide nothing, so the card's documented outcome happens every time; the merchant's own
    rules and lists still act, and a Radar test card's rule (TEST_CARD_RULES) fires."""
    decision = Decision.ALLOW
    reasons: list[str] = []
    for kind in sorted(set(blocked), key=lambda kind: kind.value):
        reasons.append(kind.reason)
        decision = Decision.BLOCK
    fired = policy.fired(features)
    overridden: list[Rule] = []
    if test_card:
        reasons.append(TEST_CARD)
        overridden = [rule for rule in fired if rule in DEFAULT_RULES]
        fired = [
            *([TEST_CARD_RULES[test_card]] if test_card in TEST_CARD_RULES else []),
            *(rule for rule in fired if rule not in overridden),
        ]
    if allowed and not blocked and all(rule.action is not Decision.BLOCK for rule in fired):
        # The merchant vouches for this buyer: review rules and the model are overridden and
        # kept among the reasons for the audit trail.
        return Verdict(
            Decision.ALLOW,
            [item.reason for item in allowed] + [rule.name for rule in fired + overridden],
        )
    for rule in fired:
        reasons.append(rule.name)
        decision = max(decision, rule.action)
    reasons += [rule.name for rule in overridden]
    if degraded:
        reasons.append("velocity_unavailable")
        if features["amount_usd"] > policy.degraded_review_above_usd and not test_card:
            decision = max(decision, Decision.REVIEW)
    model_decision = policy.decision_of_score(score)
    if card_testing_unseen(features) or test_card:
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
