"""One-off invoice items: a charge (or, negative, a credit) pending for a subscription's next
invoice. invoices.create_invoice takes a subscription's pending items as lines in the
transaction that creates the invoice and marks each with the invoice's id, so an item is
billed exactly once (the same path as pending proration lines)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from paycore import validation
from paycore.currency.rules import CurrencyRules, Purpose
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
from paycore.subscription.invoice_store import not_yet_invoiced
from paycore.subscription.models import InvoiceItem, InvoiceLine, NewInvoiceItem, Period, Price
from paycore.subscription.proration import item_amount
from paycore.subscription.repository import PriceRepository
from paycore.subscription.service import require_price
from paycore.subscription.store import SubscriptionRepository
from sqlalchemy import Select, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

DESCRIPTION_LENGTH_MAX = 500


async def create(
    connection: AsyncConnection, events: SubscriptionEvents, merchant_id: str, new: NewInvoiceItem
) -> InvoiceItem:
    """NOT_FOUND (subscription) for an unknown subscription or another customer's;
    INVALID_ARGUMENT (subscription) for an ended one, (price) for a recurring or inactive
    price; CURRENCY_MISMATCH naming price or currency when it is not the subscription's."""
    subscription = await SubscriptionRepository(connection).get(
        merchant_id, new.subscription_id, lock=True
    )
    if subscription is None or subscription.customer_id != new.customer_id:
        raise not_found("subscription", new.subscription_id, "subscription")
    if subscription.status.ended:
        raise invalid("subscription", f"the subscription {subscription.id} has ended")
    now = await lifecycle.clock_now(connection, merchant_id, subscription.test_clock_id)
    amount, currency, param = new.amount, new.currency, "currency"
    if new.price_id is not None:
        price = await require_price(connection, merchant_id, new.price_id)
        if price.recurring is not None:
            raise invalid("price", "must be a one-time price (this one is recurring)")
        if not price.active:
            raise invalid("price", f"the price {price.id} is inactive")
        amount = _priced(price, new.quantity)
        currency, param = price.currency, "price"
    if currency != subscription.currency:
        raise ApiError(
            Reason.CURRENCY_MISMATCH,
            param=param,
            currency=currency,
            expected=subscription.currency,
        )
    item = InvoiceItem(
        id=new_merchant_id(Prefix.INVOICE_ITEM, merchant_id),
        merchant_id=merchant_id,
        customer_id=new.customer_id,
        subscription_id=subscription.id,
        price_id=new.price_id,
        amount=amount,
        currency=currency,
        quantity=new.quantity,
        description=new.description,
        invoice_id=None,
        created=now,
        metadata=new.metadata,
    )
    await connection.execute(insert(invoice_items).values(**_encode_item.mapping(item)))
    await events.item.record(connection, INVOICE_ITEM_CREATED, item)
    return item


decode_item: Decoder[InvoiceItem] = Decoder(invoice_items, InvoiceItem)
INVOICE_ITEMS = Kind("invoiceitem", invoice_items, decode_item)
"""The read path's kind (paycore.storage.reads)."""
_encode_item: Encoder[InvoiceItem] = Encoder(invoice_items, InvoiceItem)


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
    t = invoice_items
    rows = (
        await connection.execute(
            update(t)
            .where(not_yet_invoiced(t, merchant_id, subscription_id))
            .values(invoice_id=invoice_id)
            .returning(t)
        )
    ).all()
    return tuple(
        InvoiceLine(
            amount=item.amount,
            currency=item.currency,
            description=item.description or item.price_id or "One-off item",
            price_id=item.price_id,
            quantity=item.quantity,
            subscription_item_id=None,
            proration=False,
            period=period,
        )
        for item in sorted((decode_item(row) for row in rows), key=lambda item: item.id)
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
    item = await INVOICE_ITEMS.fetch(connection, merchant_id, item_id, lock=True)
    if item is None:
        raise not_found(INVOICE_ITEMS.name, item_id)
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
