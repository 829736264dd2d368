"""Event types of the subscription service, and `SubscriptionEvents`, its recorders
(paycore.events.Recorder): the composition root builds them with the servicer's converters
(paycore.subscription.servicer.messages), so domain code deals in dataclasses and never in
messages (as paycore.payment.events does for pay-in)."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.events import Recorder
from paycore.subscription.models import (
    Invoice,
    InvoiceItem,
    Price,
    Product,
    Subscription,
    TestClock,
)

PRODUCT_CREATED = "product.created"
PRICE_CREATED = "price.created"
INVOICE_ITEM_CREATED = "invoiceitem.created"
TEST_CLOCK_READY = "test_helpers.test_clock.ready"


@dataclass(frozen=True, slots=True)
class SubscriptionEvents:
    product: Recorder[Product]
    price: Recorder[Price]
    subscription: Recorder[Subscription]
    invoice: Recorder[Invoice]
    item: Recorder[InvoiceItem]
    test_clock: Recorder[TestClock]
