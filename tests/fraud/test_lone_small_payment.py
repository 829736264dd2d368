"""A lone small payment sent by a merchant's server is an ordinary payment (issue 5, "an
ordinary returning customer is allowed"; issue 18, "no ordinary purchase blocked"). A
secret-key CreatePaymentIntent is scored without the buyer's email or address, so the model
must not read their absence, with a small amount, as card testing: before the generator had
legitimate server-side and small purchases, the first US$0.50 payment of a new merchant with
a test card answered 402 `fraud_suspected` (score 911). Card testing is a burst, which the
velocity rules and counters catch (tests/fraud/test_scoring.py)."""

from __future__ import annotations

import pytest
from paycore.v1 import fraud_pb2, payment_pb2

from tests.fraud.support import fingerprint, payment_id
from tests.helpers import MerchantFixture
from tests.payment.shop import Shop, good_card

ALLOW = fraud_pb2.RISK_DECISION_ALLOW


@pytest.mark.parametrize("amount", [50, 100, 150, 199])
async def test_a_lone_small_payment_without_the_buyers_signals_is_allowed(
    merchant: MerchantFixture, amount: int
) -> None:
    request = fraud_pb2.ScorePaymentRequest(
        payment=payment_id(merchant.merchant.id),
        amount=amount,
        currency="usd",
        card_fingerprint=fingerprint(),
        card_brand="visa",
        card_country="US",
    )
    assessment = await merchant.client.fraud.ScorePayment(request)
    assert assessment.decision == ALLOW, assessment


async def test_the_smallest_usd_charge_with_a_test_card_succeeds(shop: Shop) -> None:
    intent = await shop.pay(good_card(), amount=50)
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, intent
    assert intent.risk_assessment.decision == ALLOW


async def test_after_one_decline_another_card_pays_a_small_amount(shop: Shop) -> None:
    declined = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(
            amount=50, currency="usd", payment_method="pm_card_chargeDeclined", confirm=True
        )
    )
    assert declined.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    intent = await shop.pay(good_card(), amount=50)
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, intent
