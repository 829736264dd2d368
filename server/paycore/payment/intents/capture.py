"""CapturePaymentIntent: captures all or part of an authorization (the rest is released at the
PSP); the capture's completion moves the money (paycore.payment.completion)."""

from __future__ import annotations

from paycore.errors import ApiError, Reason, invalid, not_found
from paycore.executor.models import Operation
from paycore.payment.intents.answer import answer
from paycore.payment.intents.flow import IntentFlow, execution_of
from paycore.payment.machine import CAPTURABLE, require
from paycore.payment.models import Intent, IntentStatus
from paycore.payment.repository import PayInRepository
from paycore.runtime.mutations import Phases
from sqlalchemy.ext.asyncio import AsyncConnection


def phases(
    flow: IntentFlow, merchant_id: str, intent_id: str, amount_to_capture: int | None
) -> Phases[Intent]:
    """`amount_to_capture`: None captures everything capturable."""

    async def record(connection: AsyncConnection) -> Intent:
        repository = PayInRepository(connection)
        intent = await repository.intent(merchant_id, intent_id, lock=True)
        if intent is None:
            raise not_found("payment_intent", intent_id)
        require(intent, "capture", CAPTURABLE)
        amount = intent.amount_capturable if amount_to_capture is None else amount_to_capture
        if amount <= 0:
            raise invalid("amount_to_capture", "must be at least 1")
        if amount > intent.amount_capturable:
            raise ApiError(
                Reason.CAPTURE_EXCEEDS_AUTHORIZED,
                param="amount_to_capture",
                amount=amount,
                capturable=intent.amount_capturable,
            )
        execution_id = await flow.executor.enqueue(
            connection, execution_of(intent, Operation.CAPTURE, amount)
        )
        return await repository.move_intent(
            intent, IntentStatus.PROCESSING, execution_id=execution_id
        )

    return Phases(record, answer(flow, merchant_id))
