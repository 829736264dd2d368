"""The events the customer service writes to the outbox (Stripe's names), and `CustomerEvents`,
which records them in the change's transaction: an event's object is rendered by the
`ObjectRenderer` the composition root passes in (paycore.customer.servicer.messages), so domain
code deals in dataclasses and never in messages (as paycore.payment.events does for pay-in)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from google.protobuf.message import Message
from paycore.customer.models import Customer, PaymentMethod
from paycore.events import record_event
from sqlalchemy.ext.asyncio import AsyncConnection

CUSTOMER_CREATED = "customer.created"
CUSTOMER_UPDATED = "customer.updated"
PAYMENT_METHOD_ATTACHED = "payment_method.attached"
PAYMENT_METHOD_DETACHED = "payment_method.detached"


class ObjectRenderer(Protocol):
    """The customer service's objects as the messages their events carry."""

    def customer(self, customer: Customer) -> Message: ...
    def payment_method(self, method: PaymentMethod) -> Message: ...


@dataclass(frozen=True, slots=True)
class CustomerEvents:
    render: ObjectRenderer

    async def customer(self, connection: AsyncConnection, kind: str, customer: Customer) -> None:
        await record_event(connection, customer.merchant_id, kind, self.render.customer(customer))

    async def payment_method(
        self, connection: AsyncConnection, kind: str, method: PaymentMethod
    ) -> None:
        message = self.render.payment_method(method)
        await record_event(connection, method.merchant_id, kind, message)
