"""The dashboard's list pages, one row each: which List method, its filters (fields of the
request, read from the query string the way the REST edge reads them), and the columns shown.
Adding a list page is one entry here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from grpc import aio
from paycore.edge.dashboard.payment_status import with_payment_status
from paycore.runtime.messages import value_names
from paycore.v1 import (
    checkout_pb2,
    checkout_pb2_grpc,
    customer_pb2_grpc,
    dispute_pb2,
    dispute_pb2_grpc,
    event_pb2,
    event_pb2_grpc,
    fraud_pb2,
    fraud_pb2_grpc,
    payment_pb2,
    payment_pb2_grpc,
    payout_pb2,
    payout_pb2_grpc,
    reconciliation_pb2,
    reconciliation_pb2_grpc,
    subscription_pb2,
    subscription_pb2_grpc,
    wallet_pb2_grpc,
)

PAGE_SIZE = 25


class Stubs:
    """paycore's gRPC clients over the edge's channels: the internal services' (reconciliation)
    over the one to their port, PAYCORE_INTERNAL_GRPC_ADDR, when they have one of their own."""

    def __init__(self, channel: aio.Channel, internal_channel: aio.Channel) -> None:
        self.payments = payment_pb2_grpc.PaymentServiceStub(channel)
        self.checkout = checkout_pb2_grpc.CheckoutServiceStub(channel)
        self.customers = customer_pb2_grpc.CustomerServiceStub(channel)
        self.wallet = wallet_pb2_grpc.WalletServiceStub(channel)
        self.payouts = payout_pb2_grpc.PayoutServiceStub(channel)
        self.subscriptions = subscription_pb2_grpc.SubscriptionServiceStub(channel)
        self.events = event_pb2_grpc.EventServiceStub(channel)
        self.disputes = dispute_pb2_grpc.DisputeServiceStub(channel)
        self.fraud = fraud_pb2_grpc.FraudServiceStub(channel)
        self.reconciliation = reconciliation_pb2_grpc.ReconciliationServiceStub(internal_channel)


@dataclass(frozen=True)
class Column:
    label: str
    key: str
    kind: str = "text"
    """text | id (links to `Listing.link`) | money (with the row's currency) | time | status"""
    link: str = ""
    """For a column of another object's id: where that object's page is ({} is the id)."""


@dataclass(frozen=True)
class Listing:
    slug: str
    title: str
    call: Callable[[Stubs], Any]
    request: type[Message]
    columns: tuple[Column, ...]
    filters: tuple[str, ...] = ()
    """Fields of the request the page's filter form sets (enums offer their values)."""
    link: str = ""
    """A row's page ({} is its id), "" for none."""
    operator: bool = False
    """Only for operators (the admin token): platform-wide queues."""
    shown: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """A row as the REST edge renders it -> with the fields its columns add (None: as is)."""

    def choices(self, name: str) -> tuple[str, ...]:
        """The values an enum filter offers, as the REST edge spells them; () for text (a
        nested field's filter, `customer_details[email]`, among them)."""
        field = cast(Descriptor, self.request.DESCRIPTOR).fields_by_name.get(name)
        if field is None or field.type != FieldDescriptor.TYPE_ENUM or field.enum_type is None:
            return ()
        return tuple(name for number, name in value_names(field.enum_type).items() if number)


GUEST_EMAIL_FILTER = "customer_details[email]"
"""The checkout sessions' filter by the email a guest gave (Stripe's customer_details[email])."""
ID = Column("ID", "id", "id")
CREATED = Column("Created", "created", "time")
STATUS = Column("Status", "status", "status")
PAYMENT = Column("Payment", "payment_intent", link="/dashboard/payments/{}")


def with_evidence_due(dispute: dict[str, Any]) -> dict[str, Any]:
    """`dispute` with `due_by` (its evidence_details', when evidence must be in) for a column."""
    details = dispute.get("evidence_details") or {}
    return {**dispute, "due_by": details.get("due_by")}


LISTINGS: tuple[Listing, ...] = (
    Listing(
        "payments",
        "Payments",
        lambda stubs: stubs.payments.ListPaymentIntents,
        payment_pb2.ListPaymentIntentsRequest,
        (
            ID,
            Column("Amount", "amount", "money"),
            Column("Status", "dashboard_status", "status"),
            Column("Refunded", "amount_refunded", "money"),
            Column("Customer", "customer"),
            Column("Description", "description"),
            CREATED,
        ),
        filters=("status", "customer"),
        link="/dashboard/payments/{}",
        shown=with_payment_status,
    ),
    Listing(
        "refunds",
        "Refunds",
        lambda stubs: stubs.payments.ListRefunds,
        payment_pb2.ListRefundsRequest,
        (
            ID,
            Column("Amount", "amount", "money"),
            STATUS,
            Column("Reason", "reason", "status"),
            PAYMENT,
            CREATED,
        ),
        filters=("payment_intent",),
    ),
    Listing(
        "disputes",
        "Disputes",
        lambda stubs: stubs.disputes.ListDisputes,
        dispute_pb2.ListDisputesRequest,
        (
            ID,
            Column("Amount", "amount", "money"),
            Column("Reason", "reason", "status"),
            STATUS,
            Column("Evidence due", "due_by", "time"),
            PAYMENT,
            CREATED,
        ),
        filters=("status", "payment_intent"),
        shown=with_evidence_due,
    ),
    Listing(
        "checkout",
        "Checkout sessions",
        lambda stubs: stubs.checkout.ListCheckoutSessions,
        checkout_pb2.ListCheckoutSessionsRequest,
        (
            ID,
            Column("Amount", "amount_total", "money"),
            STATUS,
            PAYMENT,
            Column("Email", "customer_email"),
            Column("Expires", "expires_at", "time"),
            CREATED,
        ),
        filters=("status", "customer", GUEST_EMAIL_FILTER),
    ),
    Listing(
        "payouts",
        "Payouts",
        lambda stubs: stubs.payouts.ListPayouts,
        payout_pb2.ListPayoutsRequest,
        (
            ID,
            Column("Amount", "amount", "money"),
            STATUS,
            Column("Arrival", "arrival_date", "time"),
            Column("Destination", "destination"),
            CREATED,
        ),
        filters=("status",),
        link="/dashboard/payouts/{}",
    ),
    Listing(
        "subscriptions",
        "Subscriptions",
        lambda stubs: stubs.subscriptions.ListSubscriptions,
        subscription_pb2.ListSubscriptionsRequest,
        (
            ID,
            Column("Customer", "customer"),
            STATUS,
            Column("Period ends", "current_period_end", "time"),
            Column("Latest invoice", "latest_invoice"),
            CREATED,
        ),
        filters=("status", "customer"),
    ),
    Listing(
        "invoices",
        "Invoices",
        lambda stubs: stubs.subscriptions.ListInvoices,
        subscription_pb2.ListInvoicesRequest,
        (
            ID,
            Column("Number", "number"),
            Column("Customer", "customer"),
            Column("Amount due", "amount_due", "money"),
            STATUS,
            PAYMENT,
            CREATED,
        ),
        filters=("status", "customer", "subscription"),
    ),
    Listing(
        "webhooks",
        "Webhook endpoints",
        lambda stubs: stubs.events.ListWebhookEndpoints,
        event_pb2.ListWebhookEndpointsRequest,
        (ID, Column("URL", "url"), STATUS, Column("Description", "description"), CREATED),
        link="/dashboard/webhooks/{}",
    ),
    Listing(
        "reviews",
        "Fraud review queue",
        lambda stubs: stubs.fraud.ListReviews,
        fraud_pb2.ListReviewsRequest,
        (
            ID,
            Column("Merchant", "merchant"),
            Column("Payment", "payment"),
            Column("Amount", "amount", "money"),
            Column("Score", "score"),
            STATUS,
            CREATED,
        ),
        filters=("status", "merchant"),
        link="/dashboard/reviews/{}",
        operator=True,
    ),
    Listing(
        "discrepancies",
        "Reconciliation discrepancies",
        lambda stubs: stubs.reconciliation.ListDiscrepancies,
        reconciliation_pb2.ListDiscrepanciesRequest,
        (
            ID,
            Column("Date", "date"),
            Column("Kind", "kind", "status"),
            STATUS,
            Column("Merchant", "merchant"),
            Column("Ours", "internal_amount", "money"),
            Column("PSP", "psp_amount", "money"),
            Column("Object", "object"),
            CREATED,
        ),
        filters=("status", "kind", "date", "merchant"),
        operator=True,
    ),
)
LISTINGS_BY_SLUG = {listing.slug: listing for listing in LISTINGS}
