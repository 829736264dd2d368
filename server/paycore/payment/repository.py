"""Payment intents, payments and their orders, refunds on the merchant's shard."""

from __future__ import annotations

from typing import Any

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
from paycore.storage.schema import payment_intents, payment_orders, payments, refunds
from sqlalchemy import Row, Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection


class PayInRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    # -- payment intents ------------------------------------------------------------------------

    async def insert_intent(
        self, merchant_id: str, intent_id: str, new: NewIntent, status: IntentStatus
    ) -> Intent:
        row = (
            await self._connection.execute(
                insert(payment_intents)
                .values(
                    merchant_id=merchant_id,
                    id=intent_id,
                    amount=new.amount,
                    currency=new.currency,
                    status=status.value,
                    capture_method=new.capture_method.value,
                    customer_id=new.customer_id,
                    payment_method_id=new.payment_method_id,
                    transfer_destination=new.transfer_destination,
                    application_fee_amount=new.application_fee_amount,
                    description=new.description,
                    metadata=new.metadata,
                )
                .returning(payment_intents)
            )
        ).one()
        return _intent(row)

    async def intent(
        self, merchant_id: str, intent_id: str, *, lock: bool = False
    ) -> Intent | None:
        row = await self._one(payment_intents, merchant_id, intent_id, lock)
        return None if row is None else _intent(row)

    async def intents(
        self, merchant_id: str, limit: int, starting_after: str, customer_id: str
    ) -> list[Intent]:
        t = payment_intents
        query = select(t).where(t.c.merchant_id == merchant_id)
        if customer_id:
            query = query.where(t.c.customer_id == customer_id)
        rows = await self._connection.execute(newest_first(query, t.c.id, limit, starting_after))
        return [_intent(row) for row in rows.all()]

    async def update_intent(self, intent: Intent, **values: Any) -> Intent:
        """Changes the intent and answers it as it now is (one statement, RETURNING)."""
        t = payment_intents
        row = (
            await self._connection.execute(
                update(t)
                .where(t.c.merchant_id == intent.merchant_id, t.c.id == intent.id)
                .values(**values)
                .returning(t)
            )
        ).one()
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


def _intent(row: Row[Any]) -> Intent:
    last_error = row.last_error
    return Intent(
        id=row.id,
        merchant_id=row.merchant_id,
        amount=row.amount,
        currency=row.currency,
        status=IntentStatus(row.status),
        capture_method=CaptureMethod(row.capture_method),
        customer_id=row.customer_id,
        payment_method_id=row.payment_method_id,
        amount_capturable=row.amount_capturable,
        amount_received=row.amount_received,
        amount_refunded=row.amount_refunded,
        fee=row.fee,
        transfer_destination=row.transfer_destination,
        application_fee_amount=row.application_fee_amount,
        description=row.description,
        last_error=None if last_error is None else PaymentError(**last_error),
        risk=Risk.from_json(row.risk),
        psp_charge=row.psp_charge,
        hold_transfer_id=row.hold_transfer_id,
        execution_id=row.execution_id,
        canceled_at=None if row.canceled_at is None else int(row.canceled_at.timestamp()),
        cancellation_reason=row.cancellation_reason,
        metadata=dict(row.metadata),
        created=_unix(row),
        invoice_id=row.invoice_id,
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
