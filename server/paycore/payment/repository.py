"""Payment intents, payments and their orders, refunds on the merchant's shard.

An intent's own statements (insert, read or lock, update) are on every payment's path, so they
are asyncpg statements (paycore.storage.raw); the rest is SQLAlchemy Core."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from paycore.account.fee_plans import DEFAULT_PLAN, FeePlan
from paycore.events.outbox import prepare_event
from paycore.payment.messages import intent_message
from paycore.payment.models import (
    CaptureMethod,
    Intent,
    IntentStatus,
    NewIntent,
    NewPayment,
    Order,
    OrderStatus,
    Payment,
    PaymentError,
    PaymentStatus,
    Refund,
    RefundStatus,
    Risk,
)
from paycore.storage.pagination import newest_first
from paycore.storage.raw import driver_of, jsonb
from paycore.storage.schema import payment_intents, payment_orders, payments, refunds
from sqlalchemy import Row, Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

_INSERT_INTENT = """
INSERT INTO payment_intents (merchant_id, id, amount, currency, status, capture_method,
  customer_id, payment_method_id, transfer_destination, application_fee_amount, description,
  metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING *
"""
_INTENT = "SELECT * FROM payment_intents WHERE merchant_id = $1 AND id = $2"
# The intent locked with the merchant's fee plan (NULLs: the default plan), in one round trip.
_LOCK_INTENT_AND_PLAN = """
SELECT i.*, f.percent_basis_points AS fee_percent_basis_points, f.fixed_amount AS fee_fixed_amount
FROM payment_intents AS i LEFT JOIN fee_plans AS f ON f.merchant_id = i.merchant_id
WHERE i.merchant_id = $1 AND i.id = $2
FOR UPDATE OF i
"""
_LOCK_INTENT = f"{_INTENT} FOR UPDATE"
_INTENT_JSON_COLUMNS = frozenset({"last_error", "risk", "metadata"})
_INTENT_COLUMNS = frozenset(column.name for column in payment_intents.columns)
# UPDATE statements by the columns they set: a few shapes, each prepared once per connection.
_intent_updates: dict[tuple[str, ...], str] = {}


def _intent_update_with_event(columns: tuple[str, ...]) -> str:
    key = ("+event", *columns)
    statement = _intent_updates.get(key)
    if statement is None:
        _check_intent_columns(columns)
        assignments = ", ".join(
            f"{column} = ${number}" for number, column in enumerate(columns, start=8)
        )
        statement = f"""
WITH changed AS (
  UPDATE payment_intents SET {assignments} WHERE merchant_id = $1 AND id = $2 RETURNING 1
), event AS (
  INSERT INTO events (merchant_id, id, type, object_id, object_type, data)
  SELECT $1, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM changed)
)
SELECT count(*) FROM changed
"""
        _intent_updates[key] = statement
    return statement


def _check_intent_columns(columns: tuple[str, ...]) -> None:
    unknown = set(columns) - _INTENT_COLUMNS
    if unknown:
        raise ValueError(f"payment_intents has no column {sorted(unknown)}")


def applied(intent: Intent, values: dict[str, Any]) -> Intent:
    """The intent with `values` (columns, as `update_intent` takes them) applied."""
    fields: dict[str, Any] = {}
    for column, value in values.items():
        if column == "status":
            fields[column] = IntentStatus(value)
        elif column == "last_error":
            fields[column] = None if value is None else PaymentError(**value)
        elif column == "risk":
            fields[column] = Risk.from_json(value)
        elif column == "capture_method":
            fields[column] = CaptureMethod(value)
        elif column == "canceled_at":
            fields[column] = None if value is None else int(value.timestamp())
        elif column == "metadata":
            fields[column] = dict(value)
        elif column in _INTENT_COLUMNS and column not in ("merchant_id", "id", "created_at"):
            fields[column] = value
        else:
            raise ValueError(f"payment_intents has no column {column!r} to change")
    return replace(intent, **fields)


def _intent_update(columns: tuple[str, ...]) -> str:
    statement = _intent_updates.get(columns)
    if statement is None:
        _check_intent_columns(columns)
        assignments = ", ".join(
            f"{column} = ${number}" for number, column in enumerate(columns, start=3)
        )
        statement = (
            f"UPDATE payment_intents SET {assignments} "
            "WHERE merchant_id = $1 AND id = $2 RETURNING *"
        )
        _intent_updates[columns] = statement
    return statement


class PayInRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    # -- payment intents ------------------------------------------------------------------------

    async def insert_intent(
        self, merchant_id: str, intent_id: str, new: NewIntent, status: IntentStatus
    ) -> Intent:
        driver = await driver_of(self._connection)
        row = await driver.fetchrow(
            _INSERT_INTENT,
            merchant_id,
            intent_id,
            new.amount,
            new.currency,
            status.value,
            new.capture_method.value,
            new.customer_id,
            new.payment_method_id,
            new.transfer_destination,
            new.application_fee_amount,
            new.description,
            jsonb(new.metadata),
        )
        return _intent(row)

    async def intent(
        self, merchant_id: str, intent_id: str, *, lock: bool = False
    ) -> Intent | None:
        driver = await driver_of(self._connection)
        row = await driver.fetchrow(_LOCK_INTENT if lock else _INTENT, merchant_id, intent_id)
        return None if row is None else _intent(row)

    async def locked_intent_and_plan(
        self, merchant_id: str, intent_id: str
    ) -> tuple[Intent | None, FeePlan]:
        """The intent, locked, and the fee plan its merchant pays (one statement)."""
        driver = await driver_of(self._connection)
        row = await driver.fetchrow(_LOCK_INTENT_AND_PLAN, merchant_id, intent_id)
        if row is None:
            return None, DEFAULT_PLAN
        if row["fee_percent_basis_points"] is None:
            return _intent(row), DEFAULT_PLAN
        return _intent(row), FeePlan(row["fee_percent_basis_points"], row["fee_fixed_amount"])

    async def update_intent_with_event(
        self, intent: Intent, event_type: str, **values: Any
    ) -> Intent:
        """`update_intent` and the event of the intent as changed, in one statement: the
        change is applied in Python first (`applied`) to render the event."""
        updated = applied(intent, values)
        event = prepare_event(intent.merchant_id, event_type, intent_message(updated))
        columns = tuple(values)
        statement = _intent_update_with_event(columns)
        driver = await driver_of(self._connection)
        changed = await driver.fetchval(
            statement,
            intent.merchant_id,
            intent.id,
            event.id,
            event.type,
            event.object_id,
            event.object_type,
            jsonb(event.data),
            *(
                jsonb(values[column]) if column in _INTENT_JSON_COLUMNS else values[column]
                for column in columns
            ),
        )
        if not changed:
            raise LookupError(f"payment intent {intent.id} vanished")
        return updated

    async def intents(
        self, merchant_id: str, limit: int, starting_after: str, customer_id: str
    ) -> list[Intent]:
        t = payment_intents
        query = select(t).where(t.c.merchant_id == merchant_id)
        if customer_id:
            query = query.where(t.c.customer_id == customer_id)
        rows = await self._connection.execute(newest_first(query, t.c.id, limit, starting_after))
        return [_intent(row._mapping) for row in rows.all()]

    async def update_intent(self, intent: Intent, **values: Any) -> Intent:
        """Changes the intent and answers it as it now is (one statement, RETURNING)."""
        columns = tuple(values)
        driver = await driver_of(self._connection)
        row = await driver.fetchrow(
            _intent_update(columns),
            intent.merchant_id,
            intent.id,
            *(
                jsonb(values[column]) if column in _INTENT_JSON_COLUMNS else values[column]
                for column in columns
            ),
        )
        if row is None:
            raise LookupError(f"payment intent {intent.id} vanished")
        return _intent(row)

    # -- payments and payment orders ------------------------------------------------------------

    async def insert_payment(
        self, merchant_id: str, payment_id: str, order_ids: list[str], new: NewPayment
    ) -> None:
        await self._connection.execute(
            insert(payments).values(
                merchant_id=merchant_id,
                id=payment_id,
                checkout_id=new.checkout_id,
                status=PaymentStatus.CREATED.value,
                buyer_info=new.buyer_info,
                customer_id=new.customer_id,
                payment_method_id=new.payment_method_id,
                metadata=new.metadata,
            )
        )
        await self._connection.execute(
            insert(payment_orders),
            [
                {
                    "merchant_id": merchant_id,
                    "id": order_id,
                    "payment_id": payment_id,
                    "payment_order_id": order.payment_order_id,
                    "seller_account": order.seller_account,
                    "amount": order.amount,
                    "currency": order.currency,
                    "status": OrderStatus.NOT_STARTED.value,
                    "metadata": order.metadata,
                }
                for order_id, order in zip(order_ids, new.orders, strict=True)
            ],
        )

    async def payment(
        self, merchant_id: str, payment_id: str, *, lock: bool = False
    ) -> Payment | None:
        row = await self._one(payments, merchant_id, payment_id, lock)
        if row is None:
            return None
        return _payment(row, await self.orders_of(merchant_id, [payment_id]))

    async def payment_by_checkout(self, merchant_id: str, checkout_id: str) -> Payment | None:
        row = (
            await self._connection.execute(
                select(payments).where(
                    payments.c.merchant_id == merchant_id, payments.c.checkout_id == checkout_id
                )
            )
        ).one_or_none()
        if row is None:
            return None
        return _payment(row, await self.orders_of(merchant_id, [row.id]))

    async def payments(
        self, merchant_id: str, limit: int, starting_after: str, customer_id: str, checkout_id: str
    ) -> list[Payment]:
        t = payments
        query = select(t).where(t.c.merchant_id == merchant_id)
        if customer_id:
            query = query.where(t.c.customer_id == customer_id)
        if checkout_id:
            query = query.where(t.c.checkout_id == checkout_id)
        rows = (
            await self._connection.execute(newest_first(query, t.c.id, limit, starting_after))
        ).all()
        orders = await self.orders_of(merchant_id, [row.id for row in rows])
        return [_payment(row, orders) for row in rows]

    async def orders_of(self, merchant_id: str, payment_ids: list[str]) -> list[Order]:
        if not payment_ids:
            return []
        t = payment_orders
        rows = await self._connection.execute(
            select(t)
            .where(t.c.merchant_id == merchant_id, t.c.payment_id.in_(payment_ids))
            .order_by(t.c.id)
        )
        return [_order(row) for row in rows.all()]

    async def order(self, merchant_id: str, order_id: str, *, lock: bool = False) -> Order | None:
        row = await self._one(payment_orders, merchant_id, order_id, lock)
        return None if row is None else _order(row)

    async def order_ids_taken(self, merchant_id: str, client_ids: list[str]) -> list[str]:
        t = payment_orders
        rows = await self._connection.execute(
            select(t.c.payment_order_id).where(
                t.c.merchant_id == merchant_id, t.c.payment_order_id.in_(client_ids)
            )
        )
        return [row.payment_order_id for row in rows.all()]

    async def update_payment(self, payment: Payment, **values: Any) -> None:
        await self._update(payments, payment.merchant_id, payment.id, values)

    async def update_order(self, order: Order, **values: Any) -> Order:
        """Changes the order and answers it as it now is (one statement, RETURNING)."""
        t = payment_orders
        row = (
            await self._connection.execute(
                update(t)
                .where(t.c.merchant_id == order.merchant_id, t.c.id == order.id)
                .values(**values)
                .returning(t)
            )
        ).one()
        return _order(row)

    # -- refunds --------------------------------------------------------------------------------

    async def insert_refund(self, refund: Refund) -> None:
        await self._connection.execute(
            insert(refunds).values(
                merchant_id=refund.merchant_id,
                id=refund.id,
                payment_intent_id=refund.payment_intent_id,
                payment_order_id=refund.payment_order_id,
                amount=refund.amount,
                currency=refund.currency,
                reason=refund.reason,
                status=refund.status.value,
                execution_id=refund.execution_id,
                metadata=refund.metadata,
            )
        )

    async def refund(self, merchant_id: str, refund_id: str) -> Refund | None:
        row = await self._one(refunds, merchant_id, refund_id, False)
        return None if row is None else _refund(row)

    async def refunds(
        self,
        merchant_id: str,
        limit: int,
        starting_after: str,
        payment_intent_id: str,
        payment_order_id: str,
    ) -> list[Refund]:
        t = refunds
        query = select(t).where(t.c.merchant_id == merchant_id)
        if payment_intent_id:
            query = query.where(t.c.payment_intent_id == payment_intent_id)
        if payment_order_id:
            query = query.where(t.c.payment_order_id == payment_order_id)
        rows = await self._connection.execute(newest_first(query, t.c.id, limit, starting_after))
        return [_refund(row) for row in rows.all()]

    async def update_refund(self, refund: Refund, **values: Any) -> None:
        await self._update(refunds, refund.merchant_id, refund.id, values)

    # -- shared ---------------------------------------------------------------------------------

    async def _one(
        self, table: Table, merchant_id: str, object_id: str, lock: bool
    ) -> Row[Any] | None:
        query = select(table).where(table.c.merchant_id == merchant_id, table.c.id == object_id)
        if lock:
            query = query.with_for_update()
        return (await self._connection.execute(query)).one_or_none()

    async def _update(
        self, table: Table, merchant_id: str, object_id: str, values: dict[str, Any]
    ) -> None:
        await self._connection.execute(
            update(table)
            .where(table.c.merchant_id == merchant_id, table.c.id == object_id)
            .values(**values)
        )


def _unix(row: Row[Any]) -> int:
    return int(row.created_at.timestamp())


def _intent(row: Any) -> Intent:
    """From an asyncpg record or a Core row's `_mapping`."""
    last_error = row["last_error"]
    canceled_at = row["canceled_at"]
    return Intent(
        id=row["id"],
        merchant_id=row["merchant_id"],
        amount=row["amount"],
        currency=row["currency"],
        status=IntentStatus(row["status"]),
        capture_method=CaptureMethod(row["capture_method"]),
        customer_id=row["customer_id"],
        payment_method_id=row["payment_method_id"],
        amount_capturable=row["amount_capturable"],
        amount_received=row["amount_received"],
        amount_refunded=row["amount_refunded"],
        fee=row["fee"],
        transfer_destination=row["transfer_destination"],
        application_fee_amount=row["application_fee_amount"],
        description=row["description"],
        last_error=None if last_error is None else PaymentError(**last_error),
        risk=Risk.from_json(row["risk"]),
        psp_charge=row["psp_charge"],
        hold_transfer_id=row["hold_transfer_id"],
        execution_id=row["execution_id"],
        canceled_at=None if canceled_at is None else int(canceled_at.timestamp()),
        cancellation_reason=row["cancellation_reason"],
        metadata=dict(row["metadata"]),
        created=int(row["created_at"].timestamp()),
        invoice_id=row["invoice_id"],
    )


def _order(row: Row[Any]) -> Order:
    return Order(
        id=row.id,
        merchant_id=row.merchant_id,
        payment_id=row.payment_id,
        payment_order_id=row.payment_order_id,
        seller_account=row.seller_account,
        amount=row.amount,
        currency=row.currency,
        status=OrderStatus(row.status),
        amount_refunded=row.amount_refunded,
        fee=row.fee,
        psp_reference=row.psp_reference,
        failure_code=row.failure_code,
        decline_code=row.decline_code,
        failure_message=row.failure_message,
        execution_id=row.execution_id,
        metadata=dict(row.metadata),
        created=_unix(row),
    )


def _payment(row: Row[Any], orders: list[Order]) -> Payment:
    return Payment(
        id=row.id,
        merchant_id=row.merchant_id,
        checkout_id=row.checkout_id,
        status=PaymentStatus(row.status),
        buyer_info=dict(row.buyer_info),
        customer_id=row.customer_id,
        payment_method_id=row.payment_method_id,
        risk=Risk.from_json(row.risk),
        failure_code=row.failure_code,
        failure_message=row.failure_message,
        metadata=dict(row.metadata),
        created=_unix(row),
        orders=tuple(order for order in orders if order.payment_id == row.id),
    )


def _refund(row: Row[Any]) -> Refund:
    return Refund(
        id=row.id,
        merchant_id=row.merchant_id,
        payment_intent_id=row.payment_intent_id,
        payment_order_id=row.payment_order_id,
        amount=row.amount,
        currency=row.currency,
        reason=row.reason,
        status=RefundStatus(row.status),
        failure_reason=row.failure_reason,
        execution_id=row.execution_id,
        metadata=dict(row.metadata),
        created=_unix(row),
    )
