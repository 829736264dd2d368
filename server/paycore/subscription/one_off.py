"""One-off invoices (Stripe's Invoice.create for a customer, no subscription) and what any
draft invoice allows: a change of its memo or metadata, its deletion, its finalization.

A one-off invoice is made draft (billing_reason manual) with, given
pending_invoice_items_behavior=include, the customer's pending invoice items that no
subscription bills (Stripe's default since API 2022-08-01 is exclude: the invoice starts empty
and items are added to it with InvoiceItem.create's `invoice`). Finalizing numbers it (open,
invoice.finalized); PayInvoice then charges it as any open invoice (the customer's default
payment method unless one is given); VoidInvoice and MarkInvoiceUncollectible close it. It
takes no discount and carries nothing: a total below the currency's least charge (but above
0) or below 0 cannot be finalized, since there is no next invoice to carry it to.

A draft made (or updated) with auto_advance is collected automatically, as Stripe's: the
billing job finalizes it AUTO_ADVANCE_SECONDS after it was made (on its customer's test
clock) and charges what is due to the customer's default payment method (advance). Without
one, or declined, it is left open (invoice.payment_failed) for PayInvoice: a one-off invoice
has no dunning. A draft that cannot be finalized stops advancing (stop_advancing)."""

from __future__ import annotations

from dataclasses import replace

from paycore.currency.rules import CurrencyRules
from paycore.customer.repository import CustomerRepository
from paycore.errors import ApiError, Reason, invalid, not_found
from paycore.ids import Prefix, new_merchant_id
from paycore.invariants import violated
from paycore.records import MetadataChange
from paycore.subscription import invoice_items, invoices, lifecycle
from paycore.subscription.collection import Collection, invoice_subscription
from paycore.subscription.events import (
    INVOICE_CREATED,
    INVOICE_DELETED,
    INVOICE_UPDATED,
    SubscriptionEvents,
)
from paycore.subscription.invoice_store import InvoiceRepository
from paycore.subscription.models import (
    BillingReason,
    Invoice,
    InvoiceChanges,
    InvoiceLine,
    InvoiceStatus,
    NewInvoice,
    Period,
    Subscription,
)
from paycore.subscription.service import saved_if_changed
from sqlalchemy.ext.asyncio import AsyncConnection

DEFAULT_CURRENCY = "usd"
"""A one-off invoice's currency when neither given nor taken from pending items."""
AUTO_ADVANCE_SECONDS = 3600
"""Stripe finalizes a draft with auto_advance about an hour after it was made."""


async def create(
    connection: AsyncConnection, events: SubscriptionEvents, merchant_id: str, new: NewInvoice
) -> Invoice:
    """A draft one-off invoice of the customer's (NOT_FOUND naming `customer` for none), on
    the customer's test clock; its period is the moment it is made (Stripe's)."""
    customer = await CustomerRepository(connection).get(merchant_id, new.customer_id)
    if customer is None:
        raise not_found("customer", new.customer_id, "customer")
    now = await lifecycle.clock_now(connection, merchant_id, customer.test_clock_id)
    currency = new.currency
    if not currency and new.include_pending:
        currency = await invoice_items.pending_currency(connection, merchant_id, customer.id) or ""
    currency = currency or DEFAULT_CURRENCY
    invoice_id = new_merchant_id(Prefix.INVOICE, merchant_id)
    period = Period(now, now)
    lines: tuple[InvoiceLine, ...] = ()
    if new.include_pending:
        lines = await invoice_items.take_customers(
            connection, merchant_id, customer.id, currency, invoice_id, period
        )
    invoices.check_collectable(
        currency, sum(line.amount for line in lines), "pending_invoice_items_behavior"
    )
    invoice = invoices.draft(
        invoice_id=invoice_id,
        merchant_id=merchant_id,
        customer_id=customer.id,
        reason=BillingReason.MANUAL,
        currency=currency,
        period=period,
        lines=lines,
        at=now,
        test_clock_id=customer.test_clock_id,
        metadata=new.metadata,
        description=new.description,
        auto_advance=new.auto_advance,
    )
    await InvoiceRepository(connection).insert(invoice)
    await events.invoice.record(connection, INVOICE_CREATED, invoice)
    return invoice


async def update(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    merchant_id: str,
    invoice_id: str,
    changes: InvoiceChanges,
) -> Invoice:
    """The invoice's metadata (any status) and, while it is a draft, its description and
    auto_advance changed (INVOICE_UNEXPECTED_STATE naming the field otherwise);
    invoice.updated with the old values when something changed."""
    repository = InvoiceRepository(connection)
    found = await repository.get(merchant_id, invoice_id, lock=True)
    if found is None:
        raise not_found("invoice", invoice_id)
    for param, given in (
        ("description", changes.description),
        ("auto_advance", changes.auto_advance),
    ):
        if given is not None and found.status is not InvoiceStatus.DRAFT:
            raise unexpected(found, "changed but for its metadata", param)
    changed = replace(
        found,
        description=found.description if changes.description is None else changes.description,
        auto_advance=found.auto_advance if changes.auto_advance is None else changes.auto_advance,
        metadata=changes.metadata.applied_to(found.metadata),
    )
    return await saved_if_changed(
        connection, repository, events.invoice, INVOICE_UPDATED, found, changed
    )


async def delete(
    connection: AsyncConnection, events: SubscriptionEvents, merchant_id: str, invoice_id: str
) -> Invoice:
    """A draft one-off invoice removed (invoice.deleted); the invoice items it took are
    pending again, for the customer's next one. A subscription's invoice, or one no longer
    draft: INVOICE_UNEXPECTED_STATE (void it instead)."""
    repository = InvoiceRepository(connection)
    invoice = await repository.get(merchant_id, invoice_id, lock=True)
    if invoice is None:
        raise not_found("invoice", invoice_id)
    if invoice.status is not InvoiceStatus.DRAFT or invoice.subscription_id:
        raise unexpected(invoice, "deleted")
    await invoice_items.release(connection, merchant_id, invoice.id)
    await repository.delete(merchant_id, invoice.id)
    await events.invoice.record(connection, INVOICE_DELETED, invoice)
    return invoice


async def finalize(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    rules: CurrencyRules,
    merchant_id: str,
    invoice_id: str,
    auto_advance: bool | None,
    at: int | None = None,
) -> Invoice:
    """A draft invoice finalized (Stripe's finalize_invoice): numbered, open (invoice.finalized),
    paid at once with nothing due. A one-off invoice whose total is below 0:
    INVALID_ARGUMENT naming `id` (no credit balance to keep it in). Anything but a draft:
    INVOICE_UNEXPECTED_STATE. `at`: the clock time it is finalized at (None: now on its
    clock)."""
    subscription, invoice = await locked_invoice(connection, merchant_id, invoice_id)
    if invoice.status is not InvoiceStatus.DRAFT:
        raise unexpected(invoice, "finalized")
    if subscription is None and invoice.total < 0:
        raise invalid(
            "id", f"the invoice {invoice.id} totals below 0: it has nothing to carry a credit to"
        )
    if auto_advance is not None:
        invoice = replace(invoice, auto_advance=auto_advance)
    now = (
        at
        if at is not None
        else await lifecycle.clock_now(connection, merchant_id, invoice.test_clock_id)
    )
    if subscription is None:
        finalized, _ = await invoices.finalize(connection, events, rules, None, invoice, now)
        return finalized
    finalized, changed = await invoices.finalize(
        connection, events, rules, subscription, invoice, now
    )
    await lifecycle.save(connection, events, subscription, changed)
    return finalized


async def advance(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    collection: Collection,
    merchant_id: str,
    invoice_id: str,
) -> Invoice | None:
    """Automatic collection of a due one-off draft with auto_advance, in the caller's
    transaction: finalized as FinalizeInvoice does and, with something due, its charge to the
    customer's default payment method started (the caller settles it after commit: no payment
    method, the attempt failed at once). None when it is no longer such a draft (finalized,
    deleted, its auto_advance turned off, or not due yet on its clock). A draft that cannot be
    finalized: finalize's ApiError (the caller then stops it advancing)."""
    invoice = await InvoiceRepository(connection).get(merchant_id, invoice_id, lock=True)
    if (
        invoice is None
        or invoice.subscription_id
        or invoice.status is not InvoiceStatus.DRAFT
        or not invoice.auto_advance
    ):
        return None
    now = await lifecycle.clock_now(connection, merchant_id, invoice.test_clock_id)
    due = invoice.created + AUTO_ADVANCE_SECONDS
    if now < due:
        return None
    # On a test clock advanced past it, it happened when it was due (as a renewal does).
    at = due if invoice.test_clock_id else now
    finalized = await finalize(
        connection, events, collection.rules, merchant_id, invoice_id, None, at
    )
    if finalized.status is not InvoiceStatus.OPEN:
        return finalized  # nothing due: paid as it was finalized
    return await collection.start(connection, None, finalized, at, scheduled=True)


async def stop_advancing(
    connection: AsyncConnection, events: SubscriptionEvents, merchant_id: str, invoice_id: str
) -> None:
    """A draft billing could not finalize keeps its place as a draft with auto_advance turned
    off (invoice.updated), for the merchant to mend and finalize; billing tries it no more.
    Nothing when it is no longer an advancing draft."""
    found = await InvoiceRepository(connection).get(merchant_id, invoice_id, lock=True)
    if found is None or found.status is not InvoiceStatus.DRAFT or not found.auto_advance:
        return
    await update(
        connection,
        events,
        merchant_id,
        invoice_id,
        InvoiceChanges(description=None, auto_advance=False, metadata=MetadataChange()),
    )


async def locked_invoice(
    connection: AsyncConnection, merchant_id: str, invoice_id: str
) -> tuple[Subscription | None, Invoice]:
    """The invoice and its subscription (None for a one-off invoice), locked in that order
    (the order settle uses); NOT_FOUND for no such invoice."""
    repository = InvoiceRepository(connection)
    found = await repository.get(merchant_id, invoice_id)
    if found is None:
        raise not_found("invoice", invoice_id)
    subscription = await invoice_subscription(connection, found)
    invoice = await repository.get(merchant_id, invoice_id, lock=True)
    if invoice is None:
        violated(f"invoice {invoice_id} vanished")
    return subscription, invoice


def unexpected(invoice: Invoice, action: str, param: str = "id") -> ApiError:
    """INVOICE_UNEXPECTED_STATE naming `param`: the invoice cannot be `action` in its status
    ("charging" while a charge of it is in flight)."""
    status = "charging" if invoice.charging else invoice.status.value
    return ApiError(
        Reason.INVOICE_UNEXPECTED_STATE, param=param, id=invoice.id, status=status, action=action
    )
