"""One-off invoice items: a charge (or, negative, a credit) pending for a subscription's next
invoice. invoices.create_invoice takes a subscription's pending items as lines in the
transaction that creates the invoice and marks each with the invoice's id, so an item is
billed exactly once (the same path as pending proration lines)."""

from __future__ import annotations

from paycore.errors import ApiError, Reason, invalid, not_found
from paycore.ids import Prefix, new_merchant_id
from paycore.iso import amount_max
from paycore.storage.reads import Kind
from paycore.storage.rows import Decoder, Encoder
from paycore.storage.schema import invoice_items
from paycore.subscription import lifecycle
from paycore.subscription.events import INVOICE_ITEM_CREATED, SubscriptionEvents
from paycore.subscription.invoice_store import not_yet_invoiced
from paycore.subscription.models import InvoiceItem, InvoiceLine, NewInvoiceItem, Period
from paycore.subscription.proration import item_amount
from paycore.subscription.service import require_price
from paycore.subscription.store import SubscriptionRepository
from sqlalchemy import insert, select, update
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
        amount = item_amount(price.unit_amount, new.quantity)
        if amount > amount_max(price.currency):
            raise ApiError(
                Reason.AMOUNT_TOO_LARGE,
                param="quantity",
                maximum=amount_max(price.currency),
                currency=price.currency,
            )
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
