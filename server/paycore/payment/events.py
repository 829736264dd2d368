"""The events pay-in writes to the outbox (Stripe's names where Stripe has the object), and
`PayInEvents`, its recorders (paycore.events.Recorder): the composition root builds them with
the servicer's converters (paycore.payment.servicer.messages), so domain code deals in
dataclasses and never in messages."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.events import Recorder
from paycore.events.outbox import record_prepared
from paycore.payment.models import (
    ApplicationFee,
    Charge,
    Intent,
    Order,
    Payment,
    PaymentStatus,
    Refund,
)
from sqlalchemy.ext.asyncio import AsyncConnection

INTENT_CREATED = "payment_intent.created"
INTENT_PROCESSING = "payment_intent.processing"
INTENT_CAPTURABLE = "payment_intent.amount_capturable_updated"
INTENT_SUCCEEDED = "payment_intent.succeeded"
INTENT_FAILED = "payment_intent.payment_failed"
INTENT_CANCELED = "payment_intent.canceled"
INTENT_REQUIRES_ACTION = "payment_intent.requires_action"
SETUP_CREATED = "setup_intent.created"
SETUP_SUCCEEDED = "setup_intent.succeeded"
SETUP_FAILED = "setup_intent.setup_failed"
SETUP_CANCELED = "setup_intent.canceled"
SETUP_REQUIRES_ACTION = "setup_intent.requires_action"
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
REFUND_UPDATED = "refund.updated"
"""Stripe's one type for any change of a refund: its success, its failure (beside
refund.failed) or new metadata."""
REFUND_FAILED = "refund.failed"
CHARGE_SUCCEEDED = "charge.succeeded"
"""A charge or an authorization the PSP approved (an authorization's is not captured yet)."""
CHARGE_FAILED = "charge.failed"
CHARGE_CAPTURED = "charge.captured"
CHARGE_REFUNDED = "charge.refunded"
"""Each refund of the charge that succeeds, partial ones included (Stripe's)."""
CHARGE_UPDATED = "charge.updated"
"""UpdateCharge changed the charge's description, metadata or receipt_email."""
APPLICATION_FEE_REFUNDED = "application_fee.refunded"
"""Some of a destination charge's application fee given back to the seller: by the fee's own
refund (fr_) or a refund of the charge with refund_application_fee (its object the fee)."""
CHARGE_REFUND_UPDATED = "charge.refund.updated"
"""Stripe's older name for a refund's change, its object the refund: beside each refund.updated
and refund.failed, in the same statement."""


@dataclass(frozen=True, slots=True)
class PayInEvents:
    intent: Recorder[Intent]
    order: Recorder[Order]
    payment: Recorder[Payment]
    refund: Recorder[Refund]
    charge: Recorder[Charge]
    application_fee: Recorder[ApplicationFee]

    async def payment_created(self, connection: AsyncConnection, payment: Payment) -> None:
        """payment.created, then each order's payment_order.created, in one round trip."""
        created = self.payment.prepared(PAYMENT_CREATED, payment)
        orders = [self.order.prepared(ORDER_CREATED, one) for one in payment.orders]
        await record_prepared(connection, [created, *orders])
