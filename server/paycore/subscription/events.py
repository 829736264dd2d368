"""`SubscriptionEvents`, which records the subscription service's events in the outbox: an
event's object is rendered by the `ObjectRenderer` the composition root passes in
(paycore.subscription.servicer.messages), so domain code deals in dataclasses and never in
messages (as paycore.payment.events does for pay-in)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from google.protobuf.message import Message
from paycore.events import record_event, record_events
from paycore.subscription.models import (
    Invoice,
    InvoiceItem,
    Price,
    Product,
    Subscription,
    TestClock,
)
from sqlalchemy.ext.asyncio import AsyncConnection

PRODUCT_CREATED = "product.created"
PRICE_CREATED = "price.created"
INVOICE_ITEM_CREATED = "invoiceitem.created"
TEST_CLOCK_READY = "test_helpers.test_clock.ready"


class ObjectRenderer(Protocol):
    """The subscription service's objects as the messages their events carry."""

    def product(self, product: Product) -> Message: ...
    def price(self, price: Price) -> Message: ...
    def subscription(self, subscription: Subscription) -> Message: ...
    def invoice(self, invoice: Invoice) -> Message: ...
    def item(self, item: InvoiceItem) -> Message: ...
    def test_clock(self, clock: TestClock) -> Message: ...


@dataclass(frozen=True, slots=True)
class SubscriptionEvents:
    render: ObjectRenderer

    async def product(self, connection: AsyncConnection, kind: str, product: Product) -> None:
        await record_event(connection, product.merchant_id, kind, self.render.product(product))

    async def price(self, connection: AsyncConnection, kind: str, price: Price) -> None:
        await record_event(connection, price.merchant_id, kind, self.render.price(price))

    async def invoice(self, connection: AsyncConnection, kind: str, invoice: Invoice) -> None:
        await record_event(connection, invoice.merchant_id, kind, self.render.invoice(invoice))

    async def item(self, connection: AsyncConnection, kind: str, item: InvoiceItem) -> None:
        await record_event(connection, item.merchant_id, kind, self.render.item(item))

    async def subscription(
        self, connection: AsyncConnection, kind: str, subscription: Subscription
    ) -> None:
        message = self.render.subscription(subscription)
        await record_event(connection, subscription.merchant_id, kind, message)

    async def test_clocks(
        self, connection: AsyncConnection, kind: str, clocks: Sequence[TestClock]
    ) -> None:
        """One event per clock (of any merchants on the connection's shard), one round trip."""
        await record_events(
            connection,
            [(clock.merchant_id, kind, self.render.test_clock(clock)) for clock in clocks],
        )
