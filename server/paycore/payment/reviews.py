"""What a closed fraud review does to the payment it held (FraudService.review_listener):
approved -> charged now; rejected -> canceled (an intent) or failed (a payment)."""

from __future__ import annotations

from paycore.fraud.models import Review, ReviewStatus
from paycore.fraud.service import ReviewListener
from paycore.ids import Prefix
from paycore.payment.checkout import Checkouts
from paycore.payment.intents import PaymentIntents


def review_listener(intents: PaymentIntents, checkouts: Checkouts) -> ReviewListener:
    async def closed(merchant_id: str, review: Review) -> None:
        approved = review.status is ReviewStatus.APPROVED
        if review.payment.startswith(f"{Prefix.PAYMENT_INTENT.value}_"):
            await intents.review_closed(merchant_id, review.payment, approved)
        elif review.payment.startswith(f"{Prefix.PAYMENT.value}_"):
            await checkouts.review_closed(merchant_id, review.payment, approved)

    return closed
