"""One-off invoice items: a charge (or, negative, a credit) pending for a subscription's next
invoice. invoices.create_invoice takes a subscription's pending items as lines in the
transaction that creates the invoice and marks each with the invoice's id, so an item is
billed exactly once (the same path as pending proration lines)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from paycore import validation
from paycore.currency.rules import CurrencyRules, Purpose
from paycore.customer.repository import CustomerRepository
from paycore.errors import ApiError, Reason, invalid, not_found
from paycore.ids import Prefix, new_merchant_id
from paycore.iso import amount_max
from paycore.records import MetadataChange
from paycore.storage.reads import Kind, matching
from paycore.storage.rows import Decoder, Encoder
from paycore.storage.schema import invoice_items
from paycore.subscription import lifecycle
from paycore.subscription.events import (
    INVOICE_ITEM_CREATED,
    INVOICE_ITEM_DELETED,
    SubscriptionEvents,
)
from paycore.subscription.invoice_store import (
    ABSENT_AS_EMPTY,
    ABSENT_AS_NULL,
    InvoiceRepository,
    not_yet_invoiced,
)
from paycore.subscription.models import (
    Invoice,
    InvoiceItem,
    InvoiceLine,
    InvoiceStatus,
    NewInvoiceItem,
    Period,
    Price,
)
from paycore.subscription.proration import item_amount
from paycore.subscription.repository import PRICES, PriceRepository
from paycore.subscription.store import SubscriptionRepository
from sqlalchemy import ColumnElement, Select, and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

DESCRIPTION_LENGTH_MAX = 500


async def create(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    merchant_id: str,
    new: NewInvoiceItem,
    invoice_id: str = "",
) -> InvoiceItem:
    """An item pending for the subscription's next invoice, for the customer's next one-off
    invoice (no subscription), or (`invoice_id`, Stripe's `invoice`) on that draft invoice at
    once. NOT_FOUND (subscription) for an unknown subscription or another customer's,
    (customer) for an unknown customer, (invoice) for an unknown invoice;
    INVALID_ARGUMENT (subscription) for an ended one, (invoice) for another customer's or
    another subscription's, (price) for a recurring or inactive price; INVOICE_UNEXPECTED_STATE
    (invoice) for one no longer draft; CURRENCY_MISMATCH naming price or currency when it is
    not the subscription's or the invoice's."""
    expected, clock_id = await _owner(connection, merchant_id, new)
    draft = None
    if invoice_id:
        draft = await _draft(connection, merchant_id, invoice_id, new)
        expected = draft.currency
    now = await lifecycle.clock_now(connection, merchant_id, clock_id)
    amount, currency, param = new.amount, new.currency, "currency"
    if new.price_id is not None:
        price = await PRICES.require(connection, merchant_id, new.price_id, "price")
        if price.recurring is not None:
            raise invalid("price", "must be a one-time price (this one is recurring)")
        if not price.active:
            raise invalid("price", f"the price {price.id} is inactive")
        amount = _priced(price, new.quantity)
        currency, param = price.currency, "price"
    if expected is not None and currency != expected:
        raise ApiError(Reason.CURRENCY_MISMATCH, param=param, currency=currency, expected=expected)
    item = InvoiceItem(
        id=new_merchant_id(Prefix.INVOICE_ITEM, merchant_id),
        merchant_id=merchant_id,
        customer_id=new.customer_id,
        subscription_id=new.subscription_id,
        price_id=new.price_id,
        amount=amount,
        currency=currency,
        quantity=new.quantity,
        description=new.description,
        invoice_id=None if draft is None else draft.id,
        created=now,
        metadata=new.metadata,
    )
    await connection.execute(insert(invoice_items).values(**_encode_item.mapping(item)))
    if draft is not None:
        await _add_to_draft(connection, draft, item, param)
    await events.item.record(connection, INVOICE_ITEM_CREATED, item)
    return item


async def _owner(
    connection: AsyncConnection, merchant_id: str, new: NewInvoiceItem
) -> tuple[str | None, str | None]:
    """The currency the item must be in (its subscription's; None for a customer's item) and
    the test clock it is created on."""
    if not new.subscription_id:
        customer = await CustomerRepository(connection).get(merchant_id, new.customer_id)
        if customer is None:
            raise not_found("customer", new.customer_id, "customer")
        return None, customer.test_clock_id
    subscription = await SubscriptionRepository(connection).get(
        merchant_id, new.subscription_id, lock=True
    )
    if subscription is None or subscription.customer_id != new.customer_id:
        raise not_found("subscription", new.subscription_id, "subscription")
    if subscription.status.ended:
        raise invalid("subscription", f"the subscription {subscription.id} has ended")
    await lifecycle.caught_up(connection, subscription, "subscription")
    return subscription.currency, subscription.test_clock_id


async def _draft(
    connection: AsyncConnection, merchant_id: str, invoice_id: str, new: NewInvoiceItem
) -> Invoice:
    """The draft invoice (locked) an item is added to: the item's customer's, and its
    subscription's when it names one."""
    draft = await InvoiceRepository(connection).get(merchant_id, invoice_id, lock=True)
    if draft is None:
        raise not_found("invoice", invoice_id, "invoice")
    if draft.customer_id != new.customer_id:
        raise invalid("invoice", f"the invoice {draft.id} is another customer's")
    if new.subscription_id and draft.subscription_id != new.subscription_id:
        raise invalid("invoice", f"the invoice {draft.id} is not the subscription's")
    if draft.status is not InvoiceStatus.DRAFT:
        raise ApiError(
            Reason.INVOICE_UNEXPECTED_STATE,
            param="invoice",
            id=draft.id,
            status=draft.status.value,
            action="given new items",
        )
    return draft


async def _add_to_draft(
    connection: AsyncConnection, draft: Invoice, item: InvoiceItem, param: str
) -> None:
    """The item as the draft's last line, its totals taken again (AMOUNT_TOO_LARGE naming
    `param` when the invoice could no longer be collected)."""
    line = item_line(item, draft.period)
    subtotal = draft.subtotal + line.amount
    total = subtotal - draft.total_discount
    check_collectable(draft.currency, total, param)
    repository = InvoiceRepository(connection)
    await repository.add_lines(draft.merchant_id, draft.subscription_id, draft.id, (line,))
    await repository.save(
        replace(
            draft,
            lines=(*draft.lines, line),
            subtotal=subtotal,
            total=total,
            amount_due=max(total, 0),
        )
    )


def check_collectable(currency: str, amount: int, param: str = "items") -> None:
    """AMOUNT_TOO_LARGE naming `param` when an invoice of `amount` could not be collected by
    a payment intent (above the currency's largest amount, paycore.iso.amount_max)."""
    maximum = amount_max(currency)
    if amount > maximum:
        raise ApiError(Reason.AMOUNT_TOO_LARGE, param=param, maximum=maximum, currency=currency)


decode_item: Decoder[InvoiceItem] = Decoder(invoice_items, InvoiceItem, convert=ABSENT_AS_EMPTY)
INVOICE_ITEMS = Kind("invoiceitem", invoice_items, decode_item)
"""The read path's kind (paycore.storage.reads)."""
_encode_item: Encoder[InvoiceItem] = Encoder(invoice_items, InvoiceItem, convert=ABSENT_AS_NULL)


async def has_pending(connection: AsyncConnection, merchant_id: str, subscription_id: str) -> bool:
    """Whether the subscription has items no invoice has taken yet."""
    t = invoice_items
    found = await connection.execute(
        select(t.c.id).where(not_yet_invoiced(t, merchant_id, subscription_id)).limit(1)
    )
    return found.first() is not None


async def take_pending(
    connection: AsyncConnection,
    merchant_id: str,
    subscription_id: str,
    invoice_id: str,
    period: Period,
) -> tuple[InvoiceLine, ...]:
    """The subscription's pending items as lines of `invoice_id`, each marked with it (in the
    caller's transaction, which creates that invoice)."""
    return await _take(
        connection,
        not_yet_invoiced(invoice_items, merchant_id, subscription_id),
        invoice_id,
        period,
    )


async def take_customers(
    connection: AsyncConnection,
    merchant_id: str,
    customer_id: str,
    currency: str,
    invoice_id: str,
    period: Period,
) -> tuple[InvoiceLine, ...]:
    """The customer's pending items of `currency` that no subscription bills, as lines of the
    one-off invoice `invoice_id`, each marked with it (Invoice.create's
    pending_invoice_items_behavior=include, in the transaction that creates the invoice)."""
    t = invoice_items
    return await _take(
        connection,
        and_(
            t.c.merchant_id == merchant_id,
            t.c.customer_id == customer_id,
            t.c.subscription_id.is_(None),
            t.c.invoice_id.is_(None),
            t.c.currency == currency,
        ),
        invoice_id,
        period,
    )


async def pending_currency(
    connection: AsyncConnection, merchant_id: str, customer_id: str
) -> str | None:
    """The currency of the customer's oldest pending item that no subscription bills (None:
    there is none): a one-off invoice given no currency takes that currency's items."""
    t = invoice_items
    return (
        await connection.execute(
            select(t.c.currency)
            .where(
                t.c.merchant_id == merchant_id,
                t.c.customer_id == customer_id,
                t.c.subscription_id.is_(None),
                t.c.invoice_id.is_(None),
            )
            .order_by(t.c.id)
            .limit(1)
        )
    ).scalar_one_or_none()


async def _take(
    connection: AsyncConnection, pending: ColumnElement[bool], invoice_id: str, period: Period
) -> tuple[InvoiceLine, ...]:
    t = invoice_items
    rows = (
        await connection.execute(
            update(t).where(pending).values(invoice_id=invoice_id).returning(t)
        )
    ).all()
    return tuple(
        item_line(item, period)
        for item in sorted((decode_item(row) for row in rows), key=lambda item: item.id)
    )


async def release(connection: AsyncConnection, merchant_id: str, invoice_id: str) -> None:
    """The items a draft invoice took pending again (the invoice is being deleted)."""
    t = invoice_items
    await connection.execute(
        update(t)
        .where(t.c.merchant_id == merchant_id, t.c.invoice_id == invoice_id)
        .values(invoice_id=None)
    )


def item_line(item: InvoiceItem, period: Period) -> InvoiceLine:
    """The invoice line that bills `item`."""
    return InvoiceLine(
        amount=item.amount,
        currency=item.currency,
        description=item.description or item.price_id or "One-off item",
        price_id=item.price_id,
        quantity=item.quantity,
        subscription_item_id=None,
        proration=False,
        period=period,
    )


@dataclass(frozen=True)
class InvoiceItemChanges:
    """UpdateInvoiceItem's: None leaves a field as it is."""

    amount: int | None
    quantity: int | None
    description: str | None
    metadata: MetadataChange


def items_query(
    merchant_id: str, customer_id: str, invoice_id: str, pending: bool | None
) -> Select[Any]:
    """ListInvoiceItems' filters (storage.reads' one page path): a customer's, an invoice's,
    pending (no invoice yet) or not."""
    query = matching(
        invoice_items, merchant_id=merchant_id, customer_id=customer_id, invoice_id=invoice_id
    )
    if pending is not None:
        column = invoice_items.c.invoice_id
        query = query.where(column.is_(None) if pending else column.is_not(None))
    return query


async def _pending(
    connection: AsyncConnection, merchant_id: str, item_id: str, action: str
) -> InvoiceItem:
    """The item, locked (so an invoice taking the subscription's pending items waits, or has
    taken it); NOT_FOUND for none, INVOICE_NOT_EDITABLE once an invoice has taken it."""
    item = await INVOICE_ITEMS.require(connection, merchant_id, item_id, lock=True)
    if item.invoice_id is not None:
        raise ApiError(
            Reason.INVOICE_NOT_EDITABLE,
            param="id",
            id=item.id,
            invoice=item.invoice_id,
            action=action,
        )
    return item


async def update_item(
    connection: AsyncConnection,
    rules: CurrencyRules,
    merchant_id: str,
    item_id: str,
    changes: InvoiceItemChanges,
) -> InvoiceItem:
    """A pending item changed: an amount (an item without a price), a quantity (one with a
    price: the amount follows), its description, metadata. INVALID_ARGUMENT naming `amount`
    for an item with a price, `quantity` for one without."""
    item = await _pending(connection, merchant_id, item_id, "updated")
    amount, quantity = item.amount, item.quantity
    if item.price_id is not None:
        if changes.amount is not None:
            raise invalid("amount", "the item bills a price: change its quantity instead")
        if changes.quantity is not None:
            price = await PriceRepository(connection).get(merchant_id, item.price_id)
            if price is None:
                raise not_found("price", item.price_id, "price")
            quantity = changes.quantity
            amount = _priced(price, quantity)
    else:
        if changes.quantity is not None:
            raise invalid("quantity", "only for an item with a price (change its amount)")
        if changes.amount is not None:
            amount = changes.amount
            validation.amount("amount", abs(amount), item.currency)
            rules.check("amount", abs(amount), item.currency, Purpose.AMOUNT)
    changed = replace(
        item,
        amount=amount,
        quantity=quantity,
        description=item.description if changes.description is None else changes.description,
        metadata=changes.metadata.applied_to(item.metadata),
    )
    t = invoice_items
    await connection.execute(
        update(t)
        .where(t.c.merchant_id == merchant_id, t.c.id == item.id)
        .values(
            amount=changed.amount,
            quantity=changed.quantity,
            description=changed.description,
            metadata=changed.metadata,
        )
    )
    return changed


async def delete_item(
    connection: AsyncConnection, events: SubscriptionEvents, merchant_id: str, item_id: str
) -> InvoiceItem:
    """A pending item removed (invoiceitem.deleted): no invoice bills it."""
    item = await _pending(connection, merchant_id, item_id, "deleted")
    t = invoice_items
    await connection.execute(delete(t).where(t.c.merchant_id == merchant_id, t.c.id == item.id))
    await events.item.record(connection, INVOICE_ITEM_DELETED, item)
    return item


def _priced(price: Price, quantity: int) -> int:
    """An item of `quantity` units of a one-time price, in minor units, at most the currency's
    largest amount (AMOUNT_TOO_LARGE naming `quantity`)."""
    amount = item_amount(price.unit_amount, quantity)
    if amount > amount_max(price.currency):
        raise ApiError(
            Reason.AMOUNT_TOO_LARGE,
            param="quantity",
            maximum=amount_max(price.currency),
            currency=price.currency,
        )
    return amount
