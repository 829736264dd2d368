"""Stripe's test cards give their documented outcome every time at a test-mode merchant, used
the way a developer uses them: the same card again and again. Before, the platform's own
signals took over: `pm_card_chargeDeclined` was declined six times, then blocked as fraud
(`card_declines_1h`) for an hour; US$1 with `pm_card_visa` succeeded twice, then the model
blocked it (959); `pm_card_createDispute` at US$1 after one use. The payment is still scored
and its assessment shown (reason `test_card`), the merchant's own rules and lists still act,
and Stripe's Radar test cards give their fraud outcomes (docs/fraud.md, "Test cards")."""

from __future__ import annotations

import pytest
from paycore.customer.test_methods import TEST_CARD_NUMBERS
from paycore.v1 import customer_pb2, fraud_pb2, payment_pb2

from tests.customer.support import new_card
from tests.helpers import create_merchant
from tests.payment.shop import PayIn, Shop

ALLOW = fraud_pb2.RISK_DECISION_ALLOW
REVIEW = fraud_pb2.RISK_DECISION_REVIEW
BLOCK = fraud_pb2.RISK_DECISION_BLOCK
SUCCEEDED = payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
REQUIRES_PAYMENT_METHOD = payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
HELD = payment_pb2.PAYMENT_INTENT_STATUS_PROCESSING
USES = 9
"""More than `card_declines_1h` allows (5) and more than the model let through."""


def _declined_by_the_card(intent: payment_pb2.PaymentIntent, decline_code: str) -> None:
    assert intent.status == REQUIRES_PAYMENT_METHOD, intent
    assert intent.last_payment_error.decline_code == decline_code, intent.last_payment_error
    assert intent.risk_assessment.decision == ALLOW
    assert "test_card" in intent.risk_assessment.reasons


def _blocked(intent: payment_pb2.PaymentIntent) -> None:
    assert intent.status == REQUIRES_PAYMENT_METHOD, intent
    assert intent.last_payment_error.code == "FRAUD_SUSPECTED", intent.last_payment_error
    assert intent.last_payment_error.decline_code == "fraudulent"
    assert intent.risk_assessment.decision == BLOCK


async def _decline_twice(shop: Shop) -> None:
    """What a developer's suite does between its small payments: two declines at the merchant
    within the minute, which is all the model needs to read US$1 as card testing."""
    for _ in range(2):
        declined = await shop.pay_with("pm_card_chargeDeclined", 1000)
        assert declined.last_payment_error.decline_code == "generic_decline"


async def test_a_declining_test_card_is_declined_every_time(shop: Shop) -> None:
    for _ in range(USES):
        intent = await shop.pay_with("pm_card_chargeDeclined", 1000)
        _declined_by_the_card(intent, "generic_decline")
    # The velocity rule is still computed, named, and overridden: the assessment says why.
    assert "card_declines_1h" in intent.risk_assessment.reasons


@pytest.mark.parametrize(
    ("payment_method", "decline_code"),
    [
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc"),
    ],
)
async def test_other_declining_test_cards_keep_their_decline_code(
    shop: Shop, payment_method: str, decline_code: str
) -> None:
    for _ in range(USES):
        _declined_by_the_card(await shop.pay_with(payment_method, 500), decline_code)


@pytest.mark.parametrize("payment_method", ["pm_card_visa", "pm_card_createDispute"])
async def test_a_small_payment_with_a_test_card_succeeds_every_time(
    shop: Shop, payment_method: str
) -> None:
    await _decline_twice(shop)
    for _ in range(USES):
        intent = await shop.pay_with(payment_method, 100)
        assert intent.status == SUCCEEDED, intent.last_payment_error
        assert intent.risk_assessment.decision == ALLOW
        assert intent.risk_assessment.reasons[0] == "test_card"
        assert intent.risk_assessment.model_version  # scored as ever


async def test_a_test_card_number_typed_in_is_a_test_card_too(shop: Shop) -> None:
    await _decline_twice(shop)
    for _ in range(USES):
        intent = await shop.pay(TEST_CARD_NUMBERS["pm_card_visa"], amount=100)
        assert intent.status == SUCCEEDED, intent.last_payment_error


async def test_the_merchants_own_rule_still_blocks_a_test_card(shop: Shop) -> None:
    await shop.operator.fraud.UpdateRiskPolicy(
        fraud_pb2.UpdateRiskPolicyRequest(
            rules=[
                fraud_pb2.RiskRule(
                    name="no_large_orders",
                    conditions=[fraud_pb2.RiskCondition(feature="amount_usd", above=5_000)],
                    action=fraud_pb2.RISK_DECISION_BLOCK,
                )
            ]
        )
    )
    # The fraud decision is this test's subject; the status also depends on the PSP call
    # (it was processing once in a full run, never when run alone).
    allowed = await shop.pay_with("pm_card_visa", 5_000)
    assert allowed.risk_assessment.decision == ALLOW, allowed.risk_assessment
    assert "no_large_orders" not in allowed.risk_assessment.reasons
    blocked = await shop.pay_with("pm_card_visa", 5_001)
    _blocked(blocked)
    assert "no_large_orders" in blocked.risk_assessment.reasons


async def test_the_merchants_blocklist_still_blocks_a_test_card(shop: Shop) -> None:
    first = await shop.pay_with("pm_card_visa", 1000)
    assert first.status == SUCCEEDED
    method = await shop.client.customers.GetPaymentMethod(
        customer_pb2.GetPaymentMethodRequest(id=first.payment_method)
    )
    await shop.operator.fraud.AddBlocklistItem(
        fraud_pb2.AddBlocklistItemRequest(
            type=fraud_pb2.BLOCKLIST_ITEM_TYPE_CARD_FINGERPRINT,
            value=method.card.fingerprint,
            merchant=shop.id,
            reason="testing our blocklist",
        )
    )
    blocked = await shop.pay_with("pm_card_visa", 1000)
    _blocked(blocked)
    assert blocked.risk_assessment.reasons[0] == "blocklisted_card"


@pytest.mark.parametrize(
    ("payment_method", "reason"),
    [
        ("pm_card_radarBlock", "test_card_radar_block"),
        ("pm_card_chargeDeclinedFraudulent", "test_card_radar_block"),
        ("pm_card_riskLevelHighest", "test_card_risk_level_highest"),
    ],
)
async def test_the_radar_test_cards_are_blocked_every_time(
    shop: Shop, payment_method: str, reason: str
) -> None:
    for _ in range(3):
        blocked = await shop.pay_with(payment_method, 1000)
        _blocked(blocked)
        assert reason in blocked.risk_assessment.reasons
    typed = await shop.pay(TEST_CARD_NUMBERS[payment_method], amount=1000)
    _blocked(typed)


async def test_the_elevated_risk_test_card_is_held_for_review_every_time(shop: Shop) -> None:
    for _ in range(3):
        held = await shop.pay_with("pm_card_riskLevelElevated", 1000)
        assert held.status == HELD, held
        assert held.risk_assessment.decision == REVIEW
        assert "test_card_risk_level_elevated" in held.risk_assessment.reasons
        assert held.risk_assessment.review


async def test_a_live_merchant_with_a_test_card_number_is_scored_as_before(
    payin: PayIn,
) -> None:
    live = await create_merchant(payin.admin, payin.target, name="Live shop", livemode=True)
    try:
        outcomes = []
        for _ in range(7):
            method = await new_card(live.client, TEST_CARD_NUMBERS["pm_card_chargeDeclined"])
            intent = await live.client.payments.CreatePaymentIntent(
                payment_pb2.CreatePaymentIntentRequest(
                    amount=1000, currency="usd", payment_method=method.id, confirm=True
                )
            )
            outcomes.append(intent.last_payment_error.code)
            assert "test_card" not in intent.risk_assessment.reasons
        assert outcomes == ["CARD_DECLINED"] * 6 + ["FRAUD_SUSPECTED"]
    finally:
        await live.client.close()


async def test_another_card_number_at_a_test_merchant_is_scored_as_before(shop: Shop) -> None:
    """4111 1111 1111 1111 is a well-known test number, but not one of Stripe's fixed-outcome
    cards: US$1 again and again is card testing to the model, as before."""
    await _decline_twice(shop)
    outcomes = [(await shop.pay("4111111111111111", amount=100)) for _ in range(USES)]
    assert all("test_card" not in intent.risk_assessment.reasons for intent in outcomes)
    blocked = [intent for intent in outcomes if intent.risk_assessment.decision == BLOCK]
    assert blocked, [intent.risk_assessment for intent in outcomes]
    _blocked(blocked[0])
