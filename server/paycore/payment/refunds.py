"""Refunds, full or partial, several per payment, never more than was captured: the refund's
first phase locks the intent (or order) and reserves its amount against what remains, so
concurrent refunds queue on that row and the reservations can never add up past it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from paycore.errors import ApiError, Reason, not_found
from paycore.events import record_event
from paycore.executor.models import NewExecution, Operation
from paycore.executor.service import Executor
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.payment import events
from paycore.payment.messages import refund_message
from paycore.payment.models import IntentStatus, OrderStatus, Refund, RefundStatus
from paycore.payment.repository import PayInRepository
from paycore.runtime.mutations import Completion, Mutations
from paycore.storage import Shards
from paycore.storage.pagination import page
from paycore.v1 import payment_pb2
from sqlalchemy.ext.asyncio import AsyncConnection


class Refunds:
    def __init__(
        self, shards: Shards, mutations: Mutations, executor: Executor, lease: timedelta
    ) -> None:
        self._shards = shards
        self._mutations = mutations
        self._executor = executor
        self._lease = lease

    async def get(self, merchant_id: str, refund_id: str) -> Refund:
        async with self._shards.read(merchant_id) as connection:
            found = await PayInRepository(connection).refund(merchant_id, refund_id)
        if found is None:
            raise not_found("refund", refund_id)
        return found

    async def list(
        self,
        merchant_id: str,
        limit: int,
        starting_after: str,
        payment_intent_id: str,
        payment_order_id: str,
    ) -> tuple[list[Refund], bool]:
        async with self._shards.read(merchant_id) as connection:
            found = await PayInRepository(connection).refunds(
                merchant_id, limit, starting_after, payment_intent_id, payment_order_id
            )
        return page(found, limit)

    async def create(
        self,
        merchant_id: str,
        request: payment_pb2.CreateRefundRequest,
        amount: int | None,
        reason: str,
        metadata: dict[str, str],
    ) -> payment_pb2.Refund:
        refund_id = new_id(Prefix.REFUND, logical_shard_of(merchant_id, Prefix.ACCOUNT))

        async def record(connection: AsyncConnection) -> payment_pb2.Refund:
            repository = PayInRepository(connection)
            intent, order = None, None
            if request.payment_intent:
                intent = await repository.intent(merchant_id, request.payment_intent, lock=True)
                if intent is None:
                    raise not_found("payment_intent", request.payment_intent, "payment_intent")
                if intent.status is not IntentStatus.SUCCEEDED:
                    raise ApiError(
                        Reason.CHARGE_NOT_REFUNDABLE,
                        param="payment_intent",
                        object="payment_intent",
                        id=intent.id,
                        status=intent.status.value,
                    )
                paid, refunded, currency = (
                    intent.amount_received,
                    intent.amount_refunded,
                    intent.currency,
                )
                charge = intent.psp_charge
            else:
                order = await repository.order(merchant_id, request.payment_order, lock=True)
                if order is None:
                    raise not_found("payment_order", request.payment_order, "payment_order")
                if order.status is not OrderStatus.SUCCEEDED:
                    raise ApiError(
                        Reason.CHARGE_NOT_REFUNDABLE,
                        param="payment_order",
                        object="payment_order",
                        id=order.id,
                        status=order.status.value,
                    )
                paid, refunded, currency = order.amount, order.amount_refunded, order.currency
                charge = order.psp_reference
            remaining = paid - refunded
            wanted = remaining if amount is None else amount
            if wanted > remaining or wanted <= 0:
                raise ApiError(
                    Reason.REFUND_EXCEEDS_CAPTURED,
                    param="amount",
                    amount=wanted,
                    remaining=remaining,
                )
            if intent is not None:
                await repository.update_intent(intent, amount_refunded=refunded + wanted)
            if order is not None:
                await repository.update_order(order, amount_refunded=refunded + wanted)
            stored = await record_refund(
                connection,
                self._executor,
                Refund(
                    id=refund_id,
                    merchant_id=merchant_id,
                    payment_intent_id=request.payment_intent or None,
                    payment_order_id=request.payment_order or None,
                    amount=wanted,
                    currency=currency,
                    reason=reason,
                    status=RefundStatus.PENDING,
                    failure_reason="",
                    execution_id=None,
                    metadata=metadata,
                    created=0,
                ),
                charge,
            )
            return refund_message(stored)

        return await self._mutations.phased(
            merchant_id,
            request,
            payment_pb2.Refund,
            record,
            self._completion(merchant_id),
            self._lease,
        )

    def _completion(self, merchant_id: str) -> Completion[payment_pb2.Refund]:
        async def complete(recorded: payment_pb2.Refund) -> payment_pb2.Refund:
            refund = await self.get(merchant_id, recorded.id)
            if refund.status is RefundStatus.PENDING and refund.execution_id:
                await self._executor.run(merchant_id, refund.execution_id)
                refund = await self.get(merchant_id, recorded.id)
            return refund_message(refund)

        return complete


async def record_refund(
    connection: AsyncConnection, executor: Executor, refund: Refund, psp_charge: str | None
) -> Refund:
    """The first phase of a refund whose amount is already reserved on its intent or order:
    its execution enqueued, the refund stored `pending` with it, and `refund.created`."""
    execution_id = await executor.enqueue(
        connection,
        NewExecution(
            merchant_id=refund.merchant_id,
            operation=Operation.REFUND,
            amount=refund.amount,
            currency=refund.currency,
            psp_key="",
            payment_intent_id=refund.payment_intent_id,
            payment_order_id=refund.payment_order_id,
            refund_id=refund.id,
            psp_charge=psp_charge,
        ),
    )
    repository = PayInRepository(connection)
    await repository.insert_refund(replace(refund, execution_id=execution_id))
    stored = await repository.refund(refund.merchant_id, refund.id)
    assert stored is not None
    await record_event(
        connection, refund.merchant_id, events.REFUND_CREATED, refund_message(stored)
    )
    return stored
