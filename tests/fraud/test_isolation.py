"""One merchant cannot poison another's scores (issue 18, item 3; issue 23, item 1): counters of
what a caller supplies are kept per merchant, and the platform-wide ones count distinct
merchants, so no single merchant moves them past 1."""

from __future__ import annotations

from dataclasses import replace

from paycore.app import Platform
from paycore.storage.schema import fraud_assessments
from paycore.v1 import fraud_pb2
from sqlalchemy import select

from tests.fraud.support import (
    again,
    fingerprint,
    in_process,
    ip,
    payment_id,
    returning_customer,
)
from tests.helpers import MerchantFixture

ALLOW, BLOCK = fraud_pb2.RISK_DECISION_ALLOW, fraud_pb2.RISK_DECISION_BLOCK
VELOCITY_RULES = {
    "ip_velocity_1m",
    "ip_card_velocity_1h",
    "card_declines_1h",
    "customer_card_testing",
    "merchant_decline_burst",
}


async def test_a_flood_of_score_calls_at_one_merchant_leaves_another_merchants_buyer_allowed(
    merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    attacker, victim = merchant, other_merchant
    shared_ip, shared_card = ip(), fingerprint()
    # Merchant A names the buyer's IP and card 12 times within the minute...
    flood = [
        await attacker.client.fraud.ScorePayment(
            returning_customer(
                attacker.merchant.id, ip=shared_ip, card_fingerprint=shared_card, amount=100
            )
        )
        for _ in range(12)
    ]
    # ...and 9 made-up fingerprints from the same IP.
    for _ in range(9):
        await attacker.client.fraud.ScorePayment(
            returning_customer(attacker.merchant.id, ip=shared_ip, card_fingerprint=fingerprint())
        )
    # Within A's own traffic that is card testing, and A's counters say so.
    assert flood[-1].decision == BLOCK and "ip_velocity_1m" in flood[-1].reasons
    # Merchant B's ordinary payment from that IP with that card is allowed, untouched.
    ordinary = returning_customer(victim.merchant.id, ip=shared_ip, card_fingerprint=shared_card)
    await victim.client.fraud.ScorePayment(ordinary)
    assessment = await victim.client.fraud.ScorePayment(again(ordinary, victim.merchant.id))
    assert assessment.decision == ALLOW, assessment
    assert not VELOCITY_RULES & set(assessment.reasons)


async def test_declines_a_merchant_reports_stay_in_its_own_counters(
    platform: Platform, merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    card = fingerprint()
    for _ in range(7):
        declined = in_process(
            merchant.merchant.id, returning_customer(merchant.merchant.id, card_fingerprint=card)
        )
        await platform.fraud.record_payment_outcome(merchant.merchant.id, declined, succeeded=False)
    mine = await platform.fraud.score_payment(
        merchant.merchant.id,
        in_process(
            merchant.merchant.id, returning_customer(merchant.merchant.id, card_fingerprint=card)
        ),
    )
    theirs = await platform.fraud.score_payment(
        other_merchant.merchant.id,
        in_process(
            other_merchant.merchant.id,
            returning_customer(other_merchant.merchant.id, card_fingerprint=card),
        ),
    )
    assert mine.assessment.features["card_declines_1h"] == 7
    assert "card_declines_1h" in mine.assessment.reasons
    assert theirs.assessment.features["card_declines_1h"] == 0
    assert theirs.assessment.decision == "allow"


async def test_platform_counters_count_merchants_not_calls_and_only_what_the_platform_saw(
    platform: Platform, merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    card, address = fingerprint(), ip()
    fraud = platform.fraud

    async def score(merchant_id: str, *, observed: bool) -> dict[str, int]:
        facts = in_process(merchant_id, returning_customer(merchant_id, card_fingerprint=card))
        facts = replace(facts, card_observed=observed, client_ip=address if observed else "")
        return (await fraud.score_payment(merchant_id, facts)).assessment.features

    first = merchant.merchant.id
    for _ in range(20):  # however often one merchant pays with the card, it counts once
        alone = await score(first, observed=True)
    assert alone["platform_card_merchants_1h"] == alone["platform_ip_merchants_1h"] == 1
    # A caller's word about a card (ScorePayment) is never counted across merchants.
    claimed = await score(other_merchant.merchant.id, observed=False)
    assert claimed["platform_card_merchants_1h"] == claimed["platform_ip_merchants_1h"] == 0
    seen = await score(other_merchant.merchant.id, observed=True)
    assert seen["platform_card_merchants_1h"] == seen["platform_ip_merchants_1h"] == 2


async def test_score_payment_over_grpc_never_counts_a_card_platform_wide(
    platform: Platform, merchant: MerchantFixture
) -> None:
    request = returning_customer(merchant.merchant.id, payment=payment_id(merchant.merchant.id))
    await merchant.client.fraud.ScorePayment(request)
    async with platform.shards.read(merchant.merchant.id) as connection:
        row = (
            await connection.execute(
                select(fraud_assessments.c.facts, fraud_assessments.c.features).where(
                    fraud_assessments.c.merchant_id == merchant.merchant.id,
                    fraud_assessments.c.payment == request.payment,
                )
            )
        ).one()
    assert row.facts["card_observed"] is False
    assert row.features["platform_card_merchants_1h"] == 0
