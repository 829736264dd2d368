"""Invoice and invoice-line rows on the merchant's shard, and the per-merchant counter behind
gapless invoice numbers. Merchant-scoped like paycore.subscription.repository."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.payment.models import IntentStatus
from paycore.storage.keys import merchant_row
from paycore.storage.reads import Kind, matching
from paycore.storage.rows import Decoder, Encoder, empty_when_null, null_when_empty
from paycore.storage.schema import invoice_lines, invoice_numbers, invoices, payment_intents
from paycore.subscription.models import (
    BillingReason,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Period,
)
from sqlalchemy import ColumnElement, Row, Select, Table, and_, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncConnection

# A number "<PREFIX>-<sequence>", sequence zero-padded to at least this many digits.
NUMBER_DIGITS = 4


def invoices_query(
    merchant_id: str,
    customer_id: str,
    subscription_id: str,
    status: InvoiceStatus | None,
) -> Select[Any]:
    return matching(
        invoices,
        merchant_id=merchant_id,
        customer_id=customer_id,
        subscription_id=subscription_id,
        status=status,
    )


def not_yet_invoiced(table: Table, merchant_id: str, subscription_id: str) -> ColumnElement[bool]:
    """The subscription's rows of `table` (invoice lines, invoice items) that no invoice has
    taken yet: they go onto its next one."""
    return and_(
        table.c.merchant_id == merchant_id,
        table.c.subscription_id == subscription_id,
        table.c.invoice_id.is_(None),
    )


@dataclass(frozen=True, slots=True)
class InvoiceRepository:
    _connection: AsyncConnection

    async def insert(self, invoice: Invoice) -> None:
        """Adds the invoice and its lines; pending lines given are moved onto it by the
        caller (take_pending)."""
        await self._connection.execute(insert(invoices).values(**_invoice_values(invoice)))
        await self.add_lines(
            invoice.merchant_id, invoice.subscription_id, invoice.id, invoice.lines
        )

    async def add_lines(
        self,
        merchant_id: str,
        subscription_id: str,
        invoice_id: str | None,
        lines: tuple[InvoiceLine, ...],
    ) -> None:
        """Lines for the invoice, or (invoice_id None) pending for the subscription's next."""
        if not lines:
            return
        shard = logical_shard_of(merchant_id, Prefix.ACCOUNT)
        await self._connection.execute(
            insert(invoice_lines),
            [
                {
                    **_encode_line.mapping(line),
                    **_periods(line.period),
                    "merchant_id": merchant_id,
                    "id": new_id(Prefix.INVOICE_LINE, shard),
                    "subscription_id": subscription_id or None,
                    "invoice_id": invoice_id,
                }
                for line in lines
            ],
        )

    async def pending_lines(
        self, merchant_id: str, subscription_id: str
    ) -> tuple[InvoiceLine, ...]:
        t = invoice_lines
        rows = await self._connection.execute(
            select(t).where(not_yet_invoiced(t, merchant_id, subscription_id)).order_by(t.c.id)
        )
        return tuple(_line(row) for row in rows.all())

    async def drop_pending(self, merchant_id: str, subscription_id: str) -> None:
        """Pending lines are copied onto the invoice that takes them (insert) and dropped."""
        await self._connection.execute(
            delete(invoice_lines).where(
                not_yet_invoiced(invoice_lines, merchant_id, subscription_id)
            )
        )

    async def get(self, merchant_id: str, invoice_id: str, *, lock: bool = False) -> Invoice | None:
        return await INVOICES.fetch(self._connection, merchant_id, invoice_id, lock=lock)

    async def for_period(self, merchant_id: str, subscription_id: str, start: int) -> str | None:
        """The period invoice (create or cycle) already billed for the period starting then."""
        t = invoices
        return (
            await self._connection.execute(
                select(t.c.id).where(
                    t.c.merchant_id == merchant_id,
                    t.c.subscription_id == subscription_id,
                    t.c.period_start == start,
                    t.c.billing_reason.in_(
                        [
                            BillingReason.SUBSCRIPTION_CREATE.value,
                            BillingReason.SUBSCRIPTION_CYCLE.value,
                        ]
                    ),
                )
            )
        ).scalar_one_or_none()

    async def of_subscription(
        self, merchant_id: str, subscription_id: str, statuses: tuple[InvoiceStatus, ...]
    ) -> list[Invoice]:
        """The subscription's invoices in these statuses, oldest first."""
        t = invoices
        rows = await self._connection.execute(
            select(t)
            .where(
                t.c.merchant_id == merchant_id,
                t.c.subscription_id == subscription_id,
                t.c.status.in_([status.value for status in statuses]),
            )
            .order_by(t.c.id)
        )
        return await INVOICES.objects(self._connection, rows.all())

    async def duplicate_payments(
        self, merchant_id: str, subscription_id: str
    ) -> list[tuple[str, int]]:
        """The subscription's invoices' duplicate payments (duplicate_payment), each with what
        it has left to refund."""
        i, pi = invoices, payment_intents
        rows = await self._connection.execute(
            select(pi.c.id, pi.c.amount_received - pi.c.amount_refunded)
            .select_from(
                i.join(pi, and_(pi.c.merchant_id == i.c.merchant_id, pi.c.invoice_id == i.c.id))
            )
            .where(
                i.c.merchant_id == merchant_id,
                i.c.subscription_id == subscription_id,
                duplicate_payment(),
            )
            .order_by(pi.c.id)
        )
        return [(row[0], int(row[1])) for row in rows]

    async def save(self, invoice: Invoice) -> None:
        t = invoices
        await self._connection.execute(
            update(t)
            .where(merchant_row(t, invoice.merchant_id, invoice.id))
            .values(**_invoice_values(invoice))
        )

    async def delete(self, merchant_id: str, invoice_id: str) -> None:
        """A draft invoice and its lines removed (its items released by the caller)."""
        lines = invoice_lines
        await self._connection.execute(
            delete(lines).where(
                lines.c.merchant_id == merchant_id, lines.c.invoice_id == invoice_id
            )
        )
        await self._connection.execute(
            delete(invoices).where(merchant_row(invoices, merchant_id, invoice_id))
        )

    async def next_number(self, merchant_id: str) -> str:
        """The merchant's next invoice number, taken in the caller's transaction: the counter
        row stays locked until it commits, and a rollback gives the number back (no gaps)."""
        prefix = hashlib.sha256(merchant_id.encode()).hexdigest()[:8].upper()
        await self._connection.execute(
            upsert(invoice_numbers)
            .values(merchant_id=merchant_id, prefix=prefix, last_number=0)
            .on_conflict_do_nothing(index_elements=["merchant_id"])
        )
        t = invoice_numbers
        row = (
            await self._connection.execute(
                update(t)
                .where(t.c.merchant_id == merchant_id)
                .values(last_number=t.c.last_number + 1)
                .returning(t.c.prefix, t.c.last_number)
            )
        ).one()
        return f"{row.prefix}-{row.last_number:0{NUMBER_DIGITS}d}"


async def _with_lines(connection: AsyncConnection, found: list[Invoice]) -> list[Invoice]:
    """One merchant's invoices with their lines, read in one query."""
    t = invoice_lines
    rows = await connection.execute(
        select(t)
        .where(
            t.c.merchant_id == found[0].merchant_id,
            t.c.invoice_id.in_([invoice.id for invoice in found]),
        )
        .order_by(t.c.id)
    )
    lines: dict[str, list[InvoiceLine]] = {}
    for line in rows.all():
        lines.setdefault(line.invoice_id, []).append(_line(line))
    return [replace(invoice, lines=tuple(lines.get(invoice.id, ()))) for invoice in found]


def _period(row: Row[Any]) -> Period:
    return Period(row.period_start, row.period_end)


ABSENT_AS_NULL: dict[str, Any] = {"subscription_id": null_when_empty}
"""How "" (none) is stored: NULL (an invoice's or invoice item's subscription)."""
ABSENT_AS_EMPTY: dict[str, Any] = {"subscription_id": empty_when_null}


_encode_line: Encoder[InvoiceLine] = Encoder(invoice_lines, InvoiceLine, convert=ABSENT_AS_NULL)
_encode_invoice: Encoder[Invoice] = Encoder(
    invoices, Invoice, convert={**ABSENT_AS_NULL, "number": null_when_empty}
)
_line: Decoder[InvoiceLine] = Decoder(
    invoice_lines,
    InvoiceLine,
    columns={"created": "created_at"},
    convert=ABSENT_AS_EMPTY,
    derive={"period": _period},
)
_decode_invoice: Decoder[Invoice] = Decoder(
    invoices,
    Invoice,
    convert={**ABSENT_AS_EMPTY, "number": empty_when_null},
    derive={"period": _period},
    skip=("lines",),
)
INVOICES = Kind("invoice", invoices, _decode_invoice, complete=_with_lines)
"""The read path's kind (paycore.storage.reads): an invoice with its lines."""


def _periods(period: Period) -> dict[str, int]:
    return {"period_start": period.start, "period_end": period.end}


def _invoice_values(invoice: Invoice) -> dict[str, Any]:
    return {**_encode_invoice.mapping(invoice), **_periods(invoice.period)}


def duplicate_payment() -> ColumnElement[bool]:
    """On invoices joined with the payment intents that name them (`invoice_id`): a succeeded
    intent other than the one that pays its invoice (the invoice's payment_intent), not yet
    refunded in full nor disputed: a second charge of one invoice, which must never stand."""
    i, pi = invoices, payment_intents
    return and_(
        pi.c.status == IntentStatus.SUCCEEDED.value,
        pi.c.id.is_distinct_from(i.c.payment_intent_id),
        pi.c.amount_refunded < pi.c.amount_received,
        pi.c.disputed.is_(False),
    )
