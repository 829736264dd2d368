"""Invoices: their lines for a period, their totals (with credit carried forward), and the
moves draft -> open (finalized, numbered) -> paid | uncollectible | void, each with its event.

Totals: subtotal = the sum of the lines; total = subtotal - the discount in force
(paycore.subscription.discounts: the sum of the lines' discount_amount); amount_due =
max(total, 0). A negative total
(more credit than charges) is paid at 0 and carries to the subscription's next invoice as a
"Unused credit carried forward" line, so no credit is lost. An amount due below the currency's
least charge (paycore.currency.rules) is not charged: the invoice is paid with nothing
collected and the amount carries to the next invoice the same way, as a line "Amount below the
minimum charge carried forward" (Stripe adds it to the customer's balance for the next one)."""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from paycore.currency.rules import CurrencyRules
from paycore.errors import invalid
from paycore.ids import Prefix, new_merchant_id
from paycore.subscription import discounts, invoice_items
from paycore.subscription.events import (
    INVOICE_CREATED,
    INVOICE_FINALIZED,
    INVOICE_MARKED_UNCOLLECTIBLE,
    INVOICE_PAID,
    INVOICE_PAYMENT_SUCCEEDED,
    INVOICE_VOIDED,
    SubscriptionEvents,
)
from paycore.subscription.invoice_items import check_collectable as check_collectable
from paycore.subscription.invoice_store import InvoiceRepository
from paycore.subscription.models import (
    BillingReason,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Period,
    Price,
    Subscription,
    SubscriptionItem,
)
from paycore.subscription.proration import item_amount
from sqlalchemy.ext.asyncio import AsyncConnection

CREDIT_CARRIED = "Unused credit carried forward"
DUE_CARRIED = "Amount below the minimum charge carried forward"


def period_lines(subscription: Subscription, period: Period) -> tuple[InvoiceLine, ...]:
    """One line per item for a whole period at its current price and quantity."""
    lines = []
    for item in subscription.items:
        price = item.price
        amount = item_amount(price.unit_amount, item.quantity)
        lines.append(item_line(item, price, amount, f"{item.quantity} x {describe(price)}", period))
    return tuple(lines)


def item_line(
    item: SubscriptionItem,
    price: Price,
    amount: int,
    description: str,
    period: Period,
    *,
    proration: bool = False,
) -> InvoiceLine:
    """A line billing `item` at `price` (whose currency is the subscription's)."""
    return InvoiceLine(
        amount=amount,
        currency=price.currency,
        description=description,
        price_id=price.id,
        quantity=item.quantity,
        subscription_item_id=item.id,
        proration=proration,
        period=period,
    )


def describe(price: Price) -> str:
    return price.nickname or price.id


async def create_invoice(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    subscription: Subscription,
    reason: BillingReason,
    period: Period,
    lines: tuple[InvoiceLine, ...],
    at: int,
) -> tuple[Invoice, Subscription]:
    """A draft invoice of `lines` plus the subscription's pending proration lines, pending
    one-off invoice items and carried credit (or amount owed), which it takes (the
    subscription answered has none of them left)."""
    repository = InvoiceRepository(connection)
    merchant_id = subscription.merchant_id
    invoice_id = new_merchant_id(Prefix.INVOICE, merchant_id)
    pending = await repository.pending_lines(merchant_id, subscription.id)
    items = await invoice_items.take_pending(
        connection, merchant_id, subscription.id, invoice_id, period
    )
    discount = await discounts.of_invoice(connection, events, subscription, at)
    lines, taken = discounts.apply(discount, lines + pending + items)
    if discount is not None and not discount.subscription_id:  # the customer's
        await discounts.after_customer_invoice(connection, events, discount, taken)
    if subscription.credit_balance:
        lines += (
            InvoiceLine(
                amount=subscription.credit_balance,
                currency=subscription.currency,
                description=CREDIT_CARRIED if subscription.credit_balance < 0 else DUE_CARRIED,
                price_id=None,
                quantity=1,
                subscription_item_id=None,
                proration=False,
                period=period,
            ),
        )
    invoice = draft(
        invoice_id=invoice_id,
        merchant_id=merchant_id,
        customer_id=subscription.customer_id,
        reason=reason,
        currency=subscription.currency,
        period=period,
        lines=lines,
        at=at,
        subscription_id=subscription.id,
        test_clock_id=subscription.test_clock_id,
        discount_id=None if discount is None else discount.id,
        total_discount=taken,
    )
    total = invoice.total
    await repository.drop_pending(merchant_id, subscription.id)
    await repository.insert(invoice)
    await events.invoice.record(connection, INVOICE_CREATED, invoice)
    return invoice, replace(
        await discounts.after_invoice(connection, events, subscription, at, taken),
        credit_balance=min(total, 0),
        latest_invoice_id=invoice.id,
    )


def draft(
    *,
    invoice_id: str,
    merchant_id: str,
    customer_id: str,
    reason: BillingReason,
    currency: str,
    period: Period,
    lines: tuple[InvoiceLine, ...],
    at: int,
    subscription_id: str = "",
    test_clock_id: str | None = None,
    discount_id: str | None = None,
    total_discount: int = 0,
    metadata: dict[str, str] | None = None,
    description: str = "",
    auto_advance: bool = True,
) -> Invoice:
    """A new draft invoice of `lines` made at `at`: its totals (the lines' sum less
    `total_discount`, amount due never negative), nothing attempted or paid yet."""
    subtotal = sum(line.amount for line in lines)
    total = subtotal - total_discount
    return Invoice(
        id=invoice_id,
        merchant_id=merchant_id,
        subscription_id=subscription_id,
        customer_id=customer_id,
        status=InvoiceStatus.DRAFT,
        billing_reason=reason,
        currency=currency,
        number="",
        subtotal=subtotal,
        total=total,
        amount_due=max(total, 0),
        amount_paid=0,
        payment_intent_id=None,
        attempt_count=0,
        retry_count=0,
        attempted_at=None,
        next_payment_attempt=None,
        charging=False,
        period=period,
        paid_at=None,
        test_clock_id=test_clock_id,
        created=at,
        metadata=metadata or {},
        lines=lines,
        discount_id=discount_id,
        total_discount=total_discount,
        description=description,
        auto_advance=auto_advance,
    )


# A subscription's invoice, or None for a one-off invoice (no subscription).
Owner = TypeVar("Owner", bound=Subscription | None)


async def finalize(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    rules: CurrencyRules,
    subscription: Owner,
    invoice: Invoice,
    at: int,
) -> tuple[Invoice, Owner]:
    """Draft -> open with the merchant's next number (finalized_at `at`); an invoice with
    nothing due is paid at once (no charge), and so is one whose amount due is below the
    currency's least charge, which no charge could collect: that amount is carried to the
    subscription's next invoice (the subscription answered owes it; the caller saves it). A
    one-off invoice has no next invoice to carry it to: INVALID_ARGUMENT naming `id`, before
    anything changes."""
    minimum = rules.rule(invoice.currency).minimum_charge
    if subscription is None and 0 < invoice.amount_due < minimum:
        raise invalid(
            "id",
            f"the invoice's amount due, {invoice.amount_due}, is below the least charge of"
            f" {invoice.currency} ({minimum} minor units), and a one-off invoice has no next"
            " invoice to carry it to",
        )
    number = await InvoiceRepository(connection).next_number(invoice.merchant_id)
    finalized = replace(invoice, status=InvoiceStatus.OPEN, number=number, finalized_at=at)
    await save(connection, events, finalized, INVOICE_FINALIZED)
    if finalized.amount_due == 0:
        return await mark_paid(connection, events, finalized, at), subscription
    if subscription is not None and finalized.amount_due < minimum:
        paid = await mark_paid(connection, events, finalized, at, collected=0)
        carried = subscription.credit_balance + finalized.amount_due
        return paid, replace(subscription, credit_balance=carried)
    return finalized, subscription


async def mark_paid(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    invoice: Invoice,
    at: int,
    *,
    collected: int | None = None,
    out_of_band: bool = False,
) -> Invoice:
    """`collected`: what was paid, when not the amount due (an amount carried forward).
    Records invoice.paid and, as Stripe's, invoice.payment_succeeded, unless the invoice was
    paid `out_of_band` (no payment succeeded: invoice.paid alone). An invoice with nothing to
    collect (0, or below the least charge and carried) counts as paid by a payment, as
    Stripe's $0 invoices do."""
    paid = replace(
        invoice,
        status=InvoiceStatus.PAID,
        amount_paid=invoice.amount_due if collected is None else collected,
        paid_at=at,
        charging=False,
        next_payment_attempt=None,
    )
    await save(connection, events, paid, INVOICE_PAID)
    if not out_of_band:
        await events.invoice.record(connection, INVOICE_PAYMENT_SUCCEEDED, paid)
    return paid


# The ways an invoice closes unpaid, with the event of each.
CLOSED_EVENTS = {
    InvoiceStatus.UNCOLLECTIBLE: INVOICE_MARKED_UNCOLLECTIBLE,
    InvoiceStatus.VOID: INVOICE_VOIDED,
}


async def close(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    invoice: Invoice,
    status: InvoiceStatus,
    at: int,
) -> Invoice:
    """The invoice uncollectible or void (`status`) at `at`: no attempt follows."""
    voided = status is InvoiceStatus.VOID
    changed = replace(
        invoice,
        status=status,
        next_payment_attempt=None,
        voided_at=at if voided else invoice.voided_at,
        marked_uncollectible_at=invoice.marked_uncollectible_at if voided else at,
    )
    await save(connection, events, changed, CLOSED_EVENTS[status])
    return changed


async def save(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    invoice: Invoice,
    event: str | None = None,
) -> None:
    await InvoiceRepository(connection).save(invoice)
    if event:
        await events.invoice.record(connection, event, invoice)
