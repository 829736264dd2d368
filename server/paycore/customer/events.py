"""The events the customer service writes to the outbox (Stripe's names), and `CustomerEvents`,
its recorders (paycore.events.Recorder), which write them in the change's transaction: the
composition root builds them with the servicer's converters (paycore.customer.servicer.messages),
so domain code deals in dataclasses and never in messages (as paycore.payment.events does for
pay-in)."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.customer.models import Customer, PaymentMethod
from paycore.events import Recorder
from paycore.subscription.models import Discount

CUSTOMER_CREATED = "customer.created"
CUSTOMER_UPDATED = "customer.updated"
CUSTOMER_DELETED = "customer.deleted"
PAYMENT_METHOD_ATTACHED = "payment_method.attached"
PAYMENT_METHOD_DETACHED = "payment_method.detached"
PAYMENT_METHOD_UPDATED = "payment_method.updated"


@dataclass(frozen=True, slots=True)
class CustomerEvents:
    customer: Recorder[Customer]
    payment_method: Recorder[PaymentMethod]
    discount: Recorder[Discount]
    """customer.discount.created / .deleted of a customer's discount."""
