"""Event types of the subscription service, and `SubscriptionEvents`, its recorders
(paycore.events.Recorder): the composition root builds them with the servicer's converters
(paycore.subscription.servicer.messages), so domain code deals in dataclasses and never in
messages (as paycore.payment.events does for pay-in)."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.events import Recorder
from paycore.subscription.models import (
    Coupon,
    Discount,
    Invoice,
    InvoiceItem,
    Price,
    Product,
    Subscription,
    TestClock,
)

PRODUCT_CREATED = "product.created"
PRODUCT_UPDATED = "product.updated"
PRICE_CREATED = "price.created"
PRICE_UPDATED = "price.updated"
INVOICE_ITEM_CREATED = "invoiceitem.created"
INVOICE_ITEM_DELETED = "invoiceitem.deleted"
TEST_CLOCK_CREATED = "test_helpers.test_clock.created"
TEST_CLOCK_ADVANCING = "test_helpers.test_clock.advancing"
TEST_CLOCK_READY = "test_helpers.test_clock.ready"
TEST_CLOCK_DELETED = "test_helpers.test_clock.deleted"
SUBSCRIPTION_CREATED = "customer.subscription.created"
SUBSCRIPTION_UPDATED = "customer.subscription.updated"
SUBSCRIPTION_DELETED = "customer.subscription.deleted"
INVOICE_CREATED = "invoice.created"
INVOICE_UPDATED = "invoice.updated"
INVOICE_DELETED = "invoice.deleted"
INVOICE_FINALIZED = "invoice.finalized"
INVOICE_PAID = "invoice.paid"
INVOICE_PAYMENT_SUCCEEDED = "invoice.payment_succeeded"
INVOICE_PAYMENT_FAILED = "invoice.payment_failed"
INVOICE_PAYMENT_ACTION_REQUIRED = "invoice.payment_action_required"
INVOICE_MARKED_UNCOLLECTIBLE = "invoice.marked_uncollectible"
INVOICE_VOIDED = "invoice.voided"
COUPON_CREATED = "coupon.created"
COUPON_UPDATED = "coupon.updated"
COUPON_DELETED = "coupon.deleted"
DISCOUNT_CREATED = "customer.discount.created"
DISCOUNT_DELETED = "customer.discount.deleted"


@dataclass(frozen=True, slots=True)
class SubscriptionEvents:
    product: Recorder[Product]
    price: Recorder[Price]
    subscription: Recorder[Subscription]
    invoice: Recorder[Invoice]
    item: Recorder[InvoiceItem]
    test_clock: Recorder[TestClock]
    coupon: Recorder[Coupon]
    discount: Recorder[Discount]
