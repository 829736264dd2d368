"""The events fraud reviews write to the outbox (Stripe's `review.opened` and `review.closed`),
and `ReviewEvents`, which records them in the transaction that opens or closes the review: the
review is rendered by the function the composition root passes in
(paycore.fraud.servicer.messages.review_message), so the domain never imports the
generated messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf.message import Message
from paycore.events import record_event
from paycore.fraud.models import Review
from sqlalchemy.ext.asyncio import AsyncConnection

REVIEW_OPENED = "review.opened"
REVIEW_CLOSED = "review.closed"


@dataclass(frozen=True, slots=True)
class ReviewEvents:
    render: Callable[[Review], Message]

    async def review(self, connection: AsyncConnection, kind: str, review: Review) -> None:
        await record_event(connection, review.merchant_id, kind, self.render(review))
