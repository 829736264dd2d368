"""The events pay-in writes to the outbox (Stripe's names where Stripe has the object), and
`PayInEvents`, which records them: an event's object is rendered by the `ObjectRenderer` the
composition root passes in (paycore.payment.servicer.messages), so domain code deals in
dataclasses and never in messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from google.protobuf.message import Message
from paycore.events.models import NewEvent
from paycore.events.outbox import prepare_event, record_event, record_events
from paycore.payment.models import Intent, Order, Payment, PaymentStatus, Refund
from sqlalchemy.ext.asyncio import AsyncConnection

INTENT_CREATED = "payment_intent.created"
INTENT_PROCESSING = "payment_intent.processing"
INTENT_CAPTURABLE = "payment_intent.amount_capturable_updated"
INTENT_SUCCEEDED = "payment_intent.succeeded"
INTENT_FAILED = "payment_intent.payment_failed"
INTENT_CANCELED = "payment_intent.canceled"
PAYMENT_CREATED = "payment.created"
PAYMENT_EVENTS = {
    PaymentStatus.SUCCEEDED: "payment.succeeded",
    PaymentStatus.PARTIALLY_SUCCEEDED: "payment.partially_succeeded",
    PaymentStatus.FAILED: "payment.failed",
}
ORDER_CREATED = "payment_order.created"
ORDER_EXECUTING = "payment_order.executing"
ORDER_SUCCEEDED = "payment_order.succeeded"
ORDER_FAILED = "payment_order.failed"
REFUND_CREATED = "refund.created"
REFUND_SUCCEEDED = "refund.updated"
REFUND_UPDATED = "refund.updated"
"""Stripe's one type for any change of a refund: its success (above) or new metadata."""
REFUND_FAILED = "refund.failed"


class ObjectRenderer(Protocol):
    """Pay-in's objects as the messages their events carry."""

    def intent(self, intent: Intent) -> Message: ...
    def order(self, order: Order) -> Message: ...
    def payment(self, payment: Payment) -> Message: ...
    def refund(self, refund: Refund) -> Message: ...


@dataclass(frozen=True, slots=True)
class PayInEvents:
    render: ObjectRenderer

    def prepared(self, kind: str, intent: Intent) -> NewEvent:
        """An intent's event, for a statement that writes it itself (charging, repository)."""
        return prepare_event(intent.merchant_id, kind, self.render.intent(intent))

    async def intent(self, connection: AsyncConnection, kind: str, intent: Intent) -> None:
        await record_event(connection, intent.merchant_id, kind, self.render.intent(intent))

    async def order(self, connection: AsyncConnection, kind: str, order: Order) -> None:
        await record_event(connection, order.merchant_id, kind, self.render.order(order))

    async def payment(self, connection: AsyncConnection, kind: str, payment: Payment) -> None:
        await record_event(connection, payment.merchant_id, kind, self.render.payment(payment))

    async def payment_created(self, connection: AsyncConnection, payment: Payment) -> None:
        """payment.created, then each order's payment_order.created, in one round trip."""
        merchant_id = payment.merchant_id
        orders = [(merchant_id, ORDER_CREATED, self.render.order(one)) for one in payment.orders]
        created = (merchant_id, PAYMENT_CREATED, self.render.payment(payment))
        await record_events(connection, [created, *orders])

    async def refund(self, connection: AsyncConnection, kind: str, refund: Refund) -> None:
        await record_event(connection, refund.merchant_id, kind, self.render.refund(refund))
