"""The event catalogue: every event type paycore records, `<object>.<change>`.

Stripe's names where Stripe has the object (payment_intent, charge.dispute, refund, customer,
payment_method, payout, balance, customer.subscription, invoice, product, price, review,
test_helpers.test_clock); paycore's own for the objects Stripe lacks (payment, payment_order,
reconciliation). `record_event` refuses a type that is not listed here: add it here first, in
its object's group, so that webhook endpoints can name it. List only a type that some change
records (tests/events/test_catalogue_recorded.py does each action and finds its event): a
webhook endpoint may subscribe to any type listed, and would wait forever for one never sent.
"""

from __future__ import annotations

EVENT_TYPES: frozenset[str] = frozenset(
    {
        # PaymentIntent (pi_): Stripe's lifecycle events (requires_action: the buyer must
        # authenticate, 3-D Secure).
        "payment_intent.created",
        "payment_intent.processing",
        "payment_intent.amount_capturable_updated",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.requires_action",
        # SetupIntent (seti_): Stripe's events of a payment method saved for later use.
        "setup_intent.created",
        "setup_intent.requires_action",
        "setup_intent.setup_failed",
        "setup_intent.succeeded",
        "setup_intent.canceled",
        # Charges (ch_, paycore.payment.charges): an intent's PSP attempt, recorded with the
        # completion, capture or refund that changes it.
        "charge.succeeded",
        "charge.failed",
        "charge.captured",
        "charge.refunded",
        "charge.refund.updated",
        # UpdateCharge changed its description, metadata or receipt_email.
        "charge.updated",
        # Refunds and disputes, as Stripe names them.
        "refund.created",
        "refund.updated",
        "refund.failed",
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
        # Payment (pay_): a checkout of one or more payment orders (System Design Interview).
        "payment.created",
        "payment.succeeded",
        "payment.partially_succeeded",
        "payment.failed",
        # PaymentOrder (pord_): one order executed against the PSP. A dead-lettered or
        # requeued execution leaves its order executing: that is the executor's state, read
        # through ListDeadLetters, not an order's change.
        "payment_order.created",
        "payment_order.executing",
        "payment_order.succeeded",
        "payment_order.failed",
        # Customers and their payment methods.
        "customer.created",
        "customer.updated",
        "customer.deleted",
        "payment_method.attached",
        "payment_method.detached",
        "payment_method.updated",
        # Hosted payment pages (cs_): Stripe's Checkout Session events.
        "checkout.session.completed",
        "checkout.session.expired",
        # Balance and payouts.
        "balance.available",
        "payout.created",
        "payout.updated",
        "payout.paid",
        "payout.failed",
        "payout.canceled",
        # An automatic payout's balance transactions can be listed (`payout=`), at once.
        "payout.reconciliation_completed",
        # Separate charges and transfers (tr_): Stripe's events of a transfer to a seller.
        "transfer.created",
        "transfer.reversed",
        "transfer.updated",
        # Application fees (fee_): a fee given back to the seller, in part or in full.
        "application_fee.refunded",
        "application_fee.refund.updated",
        # Billing.
        "product.created",
        "product.updated",
        "price.created",
        "price.updated",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.created",
        "invoice.updated",
        "invoice.deleted",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice.payment_failed",
        # The invoice's payment intent needs the customer (3-D Secure), on- or off-session.
        "invoice.payment_action_required",
        "invoice.voided",
        "invoice.marked_uncollectible",
        "invoiceitem.created",
        "invoiceitem.deleted",
        "coupon.created",
        "coupon.updated",
        "coupon.deleted",
        "customer.discount.created",
        "customer.discount.deleted",
        # A test clock made (ready at its frozen time), set advancing, caught up, deleted.
        "test_helpers.test_clock.created",
        "test_helpers.test_clock.advancing",
        "test_helpers.test_clock.ready",
        "test_helpers.test_clock.deleted",
        # Fraud reviews.
        "review.opened",
        "review.closed",
        # Early fraud warnings (issfr_): an issuer's warning of a charge, from the PSP's feed.
        "radar.early_fraud_warning.created",
        # Reconciliation against the PSP's settlement reports and the bank's payouts reports.
        "reconciliation.run.completed",
        "reconciliation.discrepancy.created",
        "reconciliation.discrepancy.resolved",
        # Webhooks (issue 15): an endpoint that answered 410 or failed for three days.
        "webhook_endpoint.disabled",
    }
)

OPERATOR_EVENT_TYPES = frozenset(
    {
        "reconciliation.run.completed",
        "reconciliation.discrepancy.created",
        "reconciliation.discrepancy.resolved",
    }
)
"""The events that are operator data (reconciliation's: ReconciliationService is for operators,
docs/reconciliation.md): recorded like any other (a discrepancy's on its merchant's shard,
owned by the merchant), read only by operators. A merchant's ListEvents and GetEvent do not
show them and its webhook endpoints are neither sent them nor may enable them."""

WILDCARD_SUFFIX = ".*"


def is_event_type(name: str) -> bool:
    return name in EVENT_TYPES


def is_merchant_event_type(name: str) -> bool:
    """A catalogued type a merchant reads and its webhook endpoints may enable."""
    return name in EVENT_TYPES and name not in OPERATOR_EVENT_TYPES


def is_type_filter(pattern: str) -> bool:
    """A ListEvents `type`: a catalogued type, or `<prefix>.*` matching at least one."""
    if pattern.endswith(WILDCARD_SUFFIX):
        prefix = pattern.removesuffix("*")
        return any(name.startswith(prefix) for name in EVENT_TYPES)
    return is_event_type(pattern)
