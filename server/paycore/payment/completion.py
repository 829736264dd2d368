"""Applies a finished execution to the payment it belongs to, inside the executor's recording
transaction: the intent, order or refund status, the ledger transfers and the outbox event
commit together, or not at all (docs/design.md, "Payment flow" step 4)."""

from __future__ import annotations

from datetime import UTC, datetime

from paycore.account.fee_plans import plan_of
from paycore.events import record_event
from paycore.executor.models import Execution, Operation
from paycore.payment import events
from paycore.payment.messages import (
    intent_message,
    order_message,
    payment_message,
    refund_message,
)
from paycore.payment.models import (
    Intent,
    IntentStatus,
    OrderStatus,
    PaymentError,
    PaymentStatus,
    RefundStatus,
)
from paycore.payment.money import Credit, PayInLedger
from paycore.payment.repository import PayInRepository
from paycore.storage.idempotency import open_key
from sqlalchemy.ext.asyncio import AsyncConnection

# PSP decline codes that Stripe reports under their own error code.
_OWN_CODES = {"expired_card": "EXPIRED_CARD", "incorrect_cvc": "INCORRECT_CVC"}


def failure_of(execution: Execution) -> PaymentError:
    answer = execution.answer
    if answer is not None and answer.declined:
        return PaymentError(
            code=_OWN_CODES.get(answer.decline_code, "CARD_DECLINED"),
            decline_code=answer.decline_code,
            message=answer.message or "The card was declined.",
        )
    return PaymentError(
        code=(execution.failure_code or "processing_error").upper(),
        message=execution.failure_message or "The payment could not be processed.",
    )


async def _answer_request(connection: AsyncConnection, intent: Intent) -> None:
    """When this runs inside the request that settles `intent` (a phased call whose completion
    named it, paycore.storage.idempotency.open_key), the intent as now changed is that request's
    final answer: it is stored in this transaction, not in one of its own afterwards."""
    key = open_key()
    if key is not None and key.subject == intent.id:
        await key.finish_in(connection, intent_message(intent))


class PayInCompletion:
    def __init__(self, money: PayInLedger) -> None:
        self._money = money

    async def __call__(self, connection: AsyncConnection, execution: Execution) -> None:
        if execution.refund_id:
            await self._refund(connection, execution)
        elif execution.payment_order_id:
            await self._order(connection, execution)
        elif execution.payment_intent_id:
            await self._intent(connection, execution)

    async def _intent(self, connection: AsyncConnection, execution: Execution) -> None:
        repository = PayInRepository(connection)
        merchant_id = execution.merchant_id
        intent, plan = await repository.locked_intent_and_plan(
            merchant_id, execution.payment_intent_id or ""
        )
        if intent is None or intent.execution_id != execution.id:
            return
        operation = execution.operation
        if not execution.succeeded:
            error = failure_of(execution).to_json()
            if operation in (Operation.CHARGE, Operation.AUTHORIZE):
                updated = await repository.update_intent_with_event(
                    intent,
                    events.INTENT_FAILED,
                    status=IntentStatus.REQUIRES_PAYMENT_METHOD.value,
                    last_error=error,
                )
            else:  # a capture or void the PSP refused: the authorization stands
                updated = await repository.update_intent(
                    intent, status=IntentStatus.REQUIRES_CAPTURE.value, last_error=error
                )
            await _answer_request(connection, updated)
            return
        reference = execution.answer.reference if execution.answer else ""
        if operation is Operation.AUTHORIZE:
            hold = await self._money.hold(
                connection,
                merchant_id,
                source=intent.id,
                amount=intent.amount,
                currency=intent.currency,
            )
            updated = await repository.update_intent(
                intent,
                status=IntentStatus.REQUIRES_CAPTURE.value,
                amount_capturable=intent.amount,
                psp_charge=reference,
                hold_transfer_id=hold,
                last_error=None,
            )
            await self._intent_event(connection, updated, events.INTENT_CAPTURABLE)
            await _answer_request(connection, updated)
        elif operation in (Operation.CHARGE, Operation.CAPTURE):
            received = execution.amount
            fee = plan.fee_for(received)
            # The ledger last: its accounts are the merchant's, shared by all its payments, so
            # their locks are held from the posting to the commit, and nothing else waits then.
            updated = await repository.update_intent_with_event(
                intent,
                events.INTENT_SUCCEEDED,
                status=IntentStatus.SUCCEEDED.value,
                amount_received=received,
                amount_capturable=0,
                fee=fee,
                psp_charge=intent.psp_charge or reference,
                last_error=None,
            )
            await _answer_request(connection, updated)
            await self._money.capture(
                connection,
                merchant_id,
                source=intent.id,
                amount=received,
                currency=intent.currency,
                fee=fee,
                credit=Credit(
                    destination=intent.transfer_destination,
                    application_fee=min(received, intent.application_fee_amount),
                ),
                hold_transfer_id=intent.hold_transfer_id
                if operation is Operation.CAPTURE
                else None,
            )
        elif operation is Operation.VOID:
            if intent.hold_transfer_id:
                await self._money.release(
                    connection,
                    merchant_id,
                    source=intent.id,
                    hold_transfer_id=intent.hold_transfer_id,
                )
            updated = await repository.update_intent(
                intent,
                status=IntentStatus.CANCELED.value,
                amount_capturable=0,
                canceled_at=datetime.now(UTC),
            )
            await self._intent_event(connection, updated, events.INTENT_CANCELED)
            await _answer_request(connection, updated)

    async def _intent_event(self, connection: AsyncConnection, intent: Intent, kind: str) -> None:
        await record_event(connection, intent.merchant_id, kind, intent_message(intent))

    async def _order(self, connection: AsyncConnection, execution: Execution) -> None:
        repository = PayInRepository(connection)
        merchant_id = execution.merchant_id
        order = await repository.order(merchant_id, execution.payment_order_id or "")
        if order is None or order.execution_id != execution.id:
            return
        # The payment first, then its order: one lock order for every order of a payment.
        payment = await repository.payment(merchant_id, order.payment_id, lock=True)
        order = await repository.order(merchant_id, order.id, lock=True)
        assert payment is not None and order is not None
        if order.status is not OrderStatus.EXECUTING:
            return
        if execution.succeeded:
            fee = (await plan_of(connection, merchant_id)).fee_for(order.amount)
            await self._money.capture(
                connection,
                merchant_id,
                source=order.id,
                amount=order.amount,
                currency=order.currency,
                fee=fee,
                credit=Credit(seller_account=order.seller_account),
            )
            updated = await repository.update_order(
                order,
                status=OrderStatus.SUCCEEDED.value,
                fee=fee,
                psp_reference=execution.answer.reference if execution.answer else "",
            )
        else:
            error = failure_of(execution)
            updated = await repository.update_order(
                order,
                status=OrderStatus.FAILED.value,
                failure_code=error.code,
                decline_code=error.decline_code,
                failure_message=error.message,
            )
        kind = events.ORDER_SUCCEEDED if execution.succeeded else events.ORDER_FAILED
        await record_event(connection, merchant_id, kind, order_message(updated))
        await self.settle_payment(connection, merchant_id, payment.id)

    async def settle_payment(
        self, connection: AsyncConnection, merchant_id: str, payment_id: str
    ) -> None:
        """Derives the payment's status from its orders (the payment row is locked)."""
        repository = PayInRepository(connection)
        payment = await repository.payment(merchant_id, payment_id)
        assert payment is not None
        statuses = {order.status for order in payment.orders}
        if statuses & {OrderStatus.NOT_STARTED, OrderStatus.EXECUTING}:
            status = PaymentStatus.PROCESSING
        elif statuses == {OrderStatus.SUCCEEDED}:
            status = PaymentStatus.SUCCEEDED
        elif statuses == {OrderStatus.FAILED}:
            status = PaymentStatus.FAILED
        else:
            status = PaymentStatus.PARTIALLY_SUCCEEDED
        if status is payment.status:
            return
        values: dict[str, object] = {"status": status.value}
        if status is PaymentStatus.FAILED and not payment.failure_code:
            first = payment.orders[0]
            values.update(failure_code=first.failure_code, failure_message=first.failure_message)
        await repository.update_payment(payment, **values)
        updated = await repository.payment(merchant_id, payment_id)
        assert updated is not None
        kind = events.PAYMENT_EVENTS.get(status)
        if kind:
            await record_event(connection, merchant_id, kind, payment_message(updated))

    async def _refund(self, connection: AsyncConnection, execution: Execution) -> None:
        repository = PayInRepository(connection)
        merchant_id = execution.merchant_id
        refund = await repository.refund(merchant_id, execution.refund_id or "")
        if refund is None or refund.status is not RefundStatus.PENDING:
            return
        order = None
        if refund.payment_order_id:
            order = await repository.order(merchant_id, refund.payment_order_id, lock=True)
        intent = None
        if refund.payment_intent_id:
            intent = await repository.intent(merchant_id, refund.payment_intent_id, lock=True)
        if execution.succeeded:
            await self._money.refund(
                connection,
                merchant_id,
                source=refund.id,
                amount=refund.amount,
                currency=refund.currency,
                seller_account=order.seller_account if order else None,
            )
            await repository.update_refund(refund, status=RefundStatus.SUCCEEDED.value)
            kind = events.REFUND_SUCCEEDED
        else:
            # The refund's reservation of the refundable amount is given back.
            if intent is not None:
                await repository.update_intent(
                    intent, amount_refunded=intent.amount_refunded - refund.amount
                )
            if order is not None:
                await repository.update_order(
                    order, amount_refunded=order.amount_refunded - refund.amount
                )
            await repository.update_refund(
                refund,
                status=RefundStatus.FAILED.value,
                failure_reason=failure_of(execution).code.lower(),
            )
            kind = events.REFUND_FAILED
        updated = await repository.refund(merchant_id, refund.id)
        assert updated is not None
        await record_event(connection, merchant_id, kind, refund_message(updated))
