"""The event types pay-in writes to the outbox (Stripe's names where Stripe has the object)."""

from __future__ import annotations

from paycore.payment.models import PaymentStatus

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
ORDER_EXECUTING = "payment_order.executing"
ORDER_SUCCEEDED = "payment_order.succeeded"
ORDER_FAILED = "payment_order.failed"
REFUND_CREATED = "refund.created"
REFUND_SUCCEEDED = "refund.updated"
REFUND_FAILED = "refund.failed"
