"""The fraud check before the PSP: the payment asks FraudService for a score and keeps it."""

from __future__ import annotations

from typing import Protocol

from paycore.customer.models import ChargeableCard
from paycore.payment.models import Risk
from paycore.v1 import fraud_pb2

_DECISIONS = {
    fraud_pb2.RISK_DECISION_ALLOW: "allow",
    fraud_pb2.RISK_DECISION_REVIEW: "review",
    fraud_pb2.RISK_DECISION_BLOCK: "block",
}


class RiskScorer(Protocol):
    """paycore.fraud.service.FraudService, as pay-in uses it."""

    async def score_payment(
        self, merchant_id: str, request: fraud_pb2.ScorePaymentRequest
    ) -> fraud_pb2.RiskAssessment: ...

    async def record_payment_outcome(
        self,
        merchant_id: str,
        request: fraud_pb2.ScorePaymentRequest,
        *,
        succeeded: bool,
        decline_code: str = "",
    ) -> None: ...


def score_request(
    payment_id: str,
    amount: int,
    currency: str,
    card: ChargeableCard,
    customer_id: str | None,
    buyer: dict[str, str] | None = None,
) -> fraud_pb2.ScorePaymentRequest:
    buyer = buyer or {}
    return fraud_pb2.ScorePaymentRequest(
        payment=payment_id,
        amount=amount,
        currency=currency,
        payment_method=card.payment_method_id,
        card_fingerprint=card.fingerprint,
        card_country=card.country,
        card_brand=card.brand,
        customer=customer_id or "",
        ip=buyer.get("ip", ""),
        email=buyer.get("email", ""),
        country=buyer.get("country", ""),
        user_agent=buyer.get("user_agent", ""),
    )


def risk_of(assessment: fraud_pb2.RiskAssessment) -> Risk:
    return Risk(
        score=assessment.score,
        decision=_DECISIONS.get(assessment.decision, "allow"),
        reasons=tuple(assessment.reasons),
        review=assessment.review,
        model_version=assessment.model_version,
    )
