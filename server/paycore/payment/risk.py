"""The fraud check before the PSP: the payment asks for a score and keeps it, and reports the
PSP's answer afterwards. `RiskScorer` is what pay-in needs of the fraud service, in pay-in's own
types (paycore.payment.servicer.fraud adapts FraudService to it)."""

from __future__ import annotations

from typing import Protocol

from paycore.customer.models import ChargeableCard
from paycore.payment.models import Risk, RiskFacts


class RiskScorer(Protocol):
    async def score(self, merchant_id: str, facts: RiskFacts) -> Risk: ...

    async def record_outcome(
        self, merchant_id: str, facts: RiskFacts, *, succeeded: bool, decline_code: str = ""
    ) -> None: ...


def risk_facts(
    payment_id: str,
    amount: int,
    currency: str,
    card: ChargeableCard,
    customer_id: str | None,
    buyer: dict[str, str] | None = None,
) -> RiskFacts:
    return RiskFacts(
        payment_id=payment_id,
        amount=amount,
        currency=currency,
        payment_method_id=card.payment_method_id,
        card_fingerprint=card.fingerprint,
        card_country=card.country,
        card_brand=card.brand,
        customer_id=customer_id,
        buyer=dict(buyer or {}),
    )
