"""What a closed fraud review does to the payment it held: approved -> charged now; rejected
-> canceled (an intent) or failed (a payment). `ReviewOutcomes.listener` is passed to
FraudService's constructor."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.executor.service import Executor
from paycore.fraud.models import Review, ReviewStatus
from paycore.ids import Prefix
from paycore.payment.checkout import PaymentOrders
from paycore.payment.events import PayInEvents
from paycore.payment.intents.review import review_closed
from paycore.storage import Shards


@dataclass(frozen=True, slots=True)
class ReviewOutcomes:
    _shards: Shards
    _executor: Executor
    _events: PayInEvents
    _orders: PaymentOrders

    async def listener(self, merchant_id: str, review: Review) -> None:
        approved = review.status is ReviewStatus.APPROVED
        payment_id = review.payment
        if payment_id.startswith(f"{Prefix.PAYMENT_INTENT.value}_"):
            await review_closed(
                self._shards, self._executor, self._events, merchant_id, payment_id, approved
            )
        elif payment_id.startswith(f"{Prefix.PAYMENT.value}_"):
            await self._orders.review_closed(merchant_id, payment_id, approved)
