"""Pay-in's wire to FraudService, whose in-process API still speaks fraud_pb2: the fraud check
in pay-in's types (paycore.payment.risk.RiskScorer) and the review listener FraudService is
built with. The only place pay-in's domain meets fraud's messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from paycore.fraud.service import FraudService
from paycore.payment.models import Risk, RiskFacts
from paycore.v1 import fraud_pb2

_DECISIONS = {
    fraud_pb2.RISK_DECISION_ALLOW: "allow",
    fraud_pb2.RISK_DECISION_REVIEW: "review",
    fraud_pb2.RISK_DECISION_BLOCK: "block",
}
ReviewClosed = Callable[[str, str, bool], Awaitable[None]]


class FraudScoring:
    def __init__(self, fraud: FraudService) -> None:
        self._fraud = fraud

    async def score(self, merchant_id: str, facts: RiskFacts) -> Risk:
        return risk_of(await self._fraud.score_payment(merchant_id, score_request(facts)))

    async def record_outcome(
        self, merchant_id: str, facts: RiskFacts, *, succeeded: bool, decline_code: str = ""
    ) -> None:
        await self._fraud.record_payment_outcome(
            merchant_id, score_request(facts), succeeded=succeeded, decline_code=decline_code
        )


def review_listener(
    closed: ReviewClosed,
) -> Callable[[str, fraud_pb2.Review], Awaitable[None]]:
    """FraudService's review listener: (merchant, the payment it held, approved)."""

    async def listener(merchant_id: str, review: fraud_pb2.Review) -> None:
        approved = review.status == fraud_pb2.REVIEW_STATUS_APPROVED
        await closed(merchant_id, review.payment, approved)

    return listener


def score_request(facts: RiskFacts) -> fraud_pb2.ScorePaymentRequest:
    return fraud_pb2.ScorePaymentRequest(
        payment=facts.payment_id,
        amount=facts.amount,
        currency=facts.currency,
        payment_method=facts.payment_method_id,
        card_fingerprint=facts.card_fingerprint,
        card_country=facts.card_country,
        card_brand=facts.card_brand,
        customer=facts.customer_id or "",
        ip=facts.buyer.get("ip", ""),
        email=facts.buyer.get("email", ""),
        country=facts.buyer.get("country", ""),
        user_agent=facts.buyer.get("user_agent", ""),
    )


def risk_of(assessment: fraud_pb2.RiskAssessment) -> Risk:
    return Risk(
        score=assessment.score,
        decision=_DECISIONS.get(assessment.decision, "allow"),
        reasons=tuple(assessment.reasons),
        review=assessment.review,
        model_version=assessment.model_version,
    )


__all__ = ["FraudScoring", "review_listener"]
