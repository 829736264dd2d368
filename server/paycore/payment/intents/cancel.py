"""CancelPaymentIntent: an intent not yet charged is canceled at once; an authorization is
voided at the PSP first (processing), and the void's completion cancels it; an intent held
for review (processing, no execution) is canceled too."""

from __future__ import annotations

from datetime import UTC, datetime

from paycore.errors import not_found
from paycore.executor.models import Operation
from paycore.payment import events
from paycore.payment.intents.answer import answer
from paycore.payment.intents.flow import IntentFlow, execution_of
from paycore.payment.machine import CANCELABLE, unexpected
from paycore.payment.models import Intent, IntentStatus
from paycore.payment.repository import PayInRepository
from paycore.runtime.mutations import Phases
from sqlalchemy.ext.asyncio import AsyncConnection


def phases(flow: IntentFlow, merchant_id: str, intent_id: str, reason: str) -> Phases[Intent]:
    async def record(connection: AsyncConnection) -> Intent:
        repository = PayInRepository(connection)
        intent = await repository.intent(merchant_id, intent_id, lock=True)
        if intent is None:
            raise not_found("payment_intent", intent_id)
        if intent.status not in CANCELABLE and not held(intent):
            raise unexpected(intent, "cancel", CANCELABLE)
        if intent.status is IntentStatus.REQUIRES_CAPTURE:
            execution_id = await flow.executor.enqueue(
                connection,
                execution_of(intent, Operation.VOID, intent.amount_capturable),
            )
            return await repository.move_intent(
                intent,
                IntentStatus.PROCESSING,
                cancellation_reason=reason or None,
                execution_id=execution_id,
            )
        canceled = await repository.move_intent(
            intent,
            IntentStatus.CANCELED,
            cancellation_reason=reason or None,
            canceled_at=datetime.now(UTC),
        )
        await flow.events.intent.record(connection, events.INTENT_CANCELED, canceled)
        return canceled

    return Phases(record, answer(flow, merchant_id))


def held(intent: Intent) -> bool:
    """Held for a fraud review: processing, its charge not started."""
    return (
        intent.status is IntentStatus.PROCESSING
        and intent.risk is not None
        and intent.risk.held
        and intent.execution_id is None
    )
