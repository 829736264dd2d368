"""The upcoming invoice preview (Stripe's Invoice.create_preview): the invoice a subscription
makes next, its renewal at the current period's end, optionally after proposed item changes.

It is computed by the code that makes the real ones, so the two cannot differ: in one
transaction the proposed changes are made (changes.update, prorations pending, at
`proration_date` or the clock's now) and the renewal invoice created (invoices.create_invoice:
the items, pending prorations and invoice items, carried credit, the discount in force at the
period end), then the transaction is rolled back: nothing is stored (no invoice, no event, no
invoice item taken, no price made, no redemption), nothing charged, and the invoice answered
has no id nor number. The changes lock the subscription's row for that short transaction, as
an update would."""

from __future__ import annotations

from dataclasses import dataclass, replace

from paycore.customer.repository import CUSTOMERS
from paycore.errors import ApiError, Reason, invalid, missing, not_found
from paycore.records import MetadataChange
from paycore.storage import Shards
from paycore.subscription import changes as changes_module
from paycore.subscription import invoices
from paycore.subscription.changes import ItemChange, SubscriptionChanges
from paycore.subscription.collection import Collection
from paycore.subscription.models import (
    BillingReason,
    Invoice,
    Period,
    ProrationBehavior,
    Subscription,
)
from paycore.subscription.periods import next_boundary
from paycore.subscription.store import SubscriptionRepository
from sqlalchemy.ext.asyncio import AsyncConnection

DETAILS = "subscription_details."


@dataclass(frozen=True)
class PreviewRequest:
    customer_id: str
    """"" when only the subscription is named."""
    subscription_id: str
    """"": the customer's one subscription that has not ended."""
    items: tuple[ItemChange, ...]
    proration: ProrationBehavior
    proration_date: int | None
    """When the proposed changes happen (None: the subscription's clock's now)."""


class PreviewRollback(Exception):
    """Leaves the preview's transaction, rolling it back, with the invoice it made."""

    def __init__(self, invoice: Invoice) -> None:
        super().__init__("preview")
        self.invoice = invoice


async def upcoming(
    shards: Shards, collection: Collection, merchant_id: str, request: PreviewRequest
) -> Invoice:
    try:
        async with shards.transaction(merchant_id) as connection:
            invoice = await _next_invoice(connection, collection, merchant_id, request)
            raise PreviewRollback(invoice)
    except PreviewRollback as previewed:
        return previewed.invoice


async def _next_invoice(
    connection: AsyncConnection,
    collection: Collection,
    merchant_id: str,
    request: PreviewRequest,
) -> Invoice:
    subscription = await _subscription(connection, merchant_id, request)
    if request.items:
        subscription = await _changed(connection, collection, subscription, request)
    at = subscription.current_period.end
    period = Period(
        at, next_boundary(subscription.billing_cycle_anchor, subscription.recurring, at)
    )
    renewed = replace(subscription, current_period=period)
    lines = invoices.period_lines(renewed, period)
    invoice, _ = await invoices.create_invoice(
        connection,
        collection.events,
        renewed,
        BillingReason.SUBSCRIPTION_CYCLE,
        period,
        lines,
        at,
    )
    return replace(invoice, id="")


async def _subscription(
    connection: AsyncConnection, merchant_id: str, request: PreviewRequest
) -> Subscription:
    """The subscription previewed: named (the customer's, when one is named too), or the
    customer's one that has not ended; INVOICE_UPCOMING_NONE when it makes no more invoices
    (ended, or canceling at its period end)."""
    repository = SubscriptionRepository(connection)
    if request.subscription_id:
        subscription = await repository.get(merchant_id, request.subscription_id)
        if subscription is None:
            raise not_found("subscription", request.subscription_id, "subscription")
        if request.customer_id and subscription.customer_id != request.customer_id:
            raise invalid(
                "subscription",
                f"the subscription {subscription.id} is not the customer {request.customer_id}'s",
            )
    else:
        if not await CUSTOMERS.exists(connection, merchant_id, request.customer_id):
            raise not_found("customer", request.customer_id, "customer")
        ids = await repository.not_ended(merchant_id, customer_id=request.customer_id)
        if not ids:
            raise ApiError(Reason.INVOICE_UPCOMING_NONE, param="customer", id=request.customer_id)
        if len(ids) > 1:
            raise missing("subscription")  # which of the customer's subscriptions
        found = await repository.get(merchant_id, ids[0])
        if found is None:
            raise not_found("subscription", ids[0], "subscription")
        subscription = found
    if subscription.status.ended or subscription.cancel_at_period_end:
        raise ApiError(Reason.INVOICE_UPCOMING_NONE, param="subscription", id=subscription.id)
    return subscription


async def _changed(
    connection: AsyncConnection,
    collection: Collection,
    subscription: Subscription,
    request: PreviewRequest,
) -> Subscription:
    """The subscription after the proposed item changes (in the preview's transaction), their
    prorations pending for the renewal; a refusal names `subscription_details.<field>`."""
    at = request.proration_date
    period = subscription.current_period
    if at is not None and not period.start <= at < period.end:
        raise invalid(
            f"{DETAILS}proration_date",
            f"must be within the current period [{period.start}, {period.end})",
        )
    proration = request.proration
    if proration is ProrationBehavior.ALWAYS_INVOICE:
        proration = ProrationBehavior.CREATE_PRORATIONS  # shown on the next invoice
    proposed = SubscriptionChanges(
        items=request.items,
        proration=proration,
        cancel_at_period_end=None,
        default_payment_method_id=None,
        metadata=MetadataChange(),
    )
    try:
        return await changes_module.update(
            connection, collection, subscription.merchant_id, subscription.id, proposed, at=at
        )
    except ApiError as refused:
        if refused.param.startswith("items"):
            raise _renamed(refused, DETAILS + refused.param) from None
        raise


def _renamed(error: ApiError, param: str) -> ApiError:
    """`error` naming `param` instead (the same reason and message otherwise)."""
    renamed = ApiError.replayed(
        error.reason,
        param=param,
        message=error.message.replace(error.param, param),
        metadata=error.metadata,
    )
    renamed.is_replay = False
    return renamed
