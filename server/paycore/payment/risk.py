"""The fraud check before the PSP: the payment asks FraudService for a score and keeps it."""

from __future__ import annotations

import time

from paycore.customer.models import ChargeableCard
from paycore.customer.test_methods import test_card_name
from paycore.fraud.features import PaymentFacts
from paycore.fraud.service import Scored
from paycore.payment.models import Risk


def score_request(
    merchant_id: str,
    payment_id: str,
    amount: int,
    currency: str,
    card: ChargeableCard,
    customer_id: str | None,
    buyer: dict[str, str] | None = None,
    *,
    client_ip: str,
) -> PaymentFacts:
    """The payment as fraud scoring sees it. The card is the vault's, of a payment about to be
    attempted, so its fingerprint counts across merchants; the buyer's address and email are
    the merchant's word and count within the merchant only. `client_ip`: the buyer's address
    as paycore saw it (paycore.runtime.context.CallContext.buyer_address, "" unknown), counted
    across merchants."""
    buyer = buyer or {}
    return PaymentFacts(
        merchant=merchant_id,
        payment=payment_id,
        amount=amount,
        currency=currency,
        card_fingerprint=card.fingerprint,
        card_brand=card.brand.lower(),
        card_country=card.country,
        customer=customer_id or "",
        customer_created_s=0,
        ip=buyer.get("ip", ""),
        ip_country="",
        email=buyer.get("email", "").lower(),
        country=buyer.get("country", ""),
        timestamp_ms=time.time_ns() // 1_000_000,
        card_observed=True,
        card_wallet=card.wallet,
        client_ip=client_ip,
        test_card=test_card_name(card.number.reveal()),
    )


def risk_of(scored: Scored) -> Risk:
    assessment = scored.assessment
    return Risk(
        score=assessment.score,
        decision=assessment.decision,
        reasons=tuple(assessment.reasons),
        review=scored.review,
        model_version=assessment.model_version,
    )
