"""A closed fraud review of a held intent: approved -> charged now; rejected -> canceled."""

from __future__ import annotations

from datetime import UTC, datetime

from paycore.executor.service import Executor
from paycore.payment import events
from paycore.payment.events import PayInEvents
from paycore.payment.intents.flow import charge_execution
from paycore.payment.models import IntentStatus
from paycore.payment.repository import PayInRepository
from paycore.storage import Shards


async def review_closed(
    shards: Shards,
    executor: Executor,
    events_of: PayInEvents,
    merchant_id: str,
    intent_id: str,
    approved: bool,
) -> None:
    execution_id = ""
    async with shards.transaction(merchant_id) as connection:
        repository = PayInRepository(connection)
        intent = await repository.intent(merchant_id, intent_id, lock=True)
        if intent is None or intent.status is not IntentStatus.PROCESSING or intent.execution_id:
            return
        if approved:
            execution_id = await executor.enqueue(
                connection, charge_execution(intent, intent.payment_method_id or "")
            )
            await repository.update_intent(intent, execution_id=execution_id)
        else:
            canceled = await repository.move_intent(
                intent,
                IntentStatus.CANCELED,
                canceled_at=datetime.now(UTC),
                cancellation_reason="fraudulent",
            )
            await events_of.intent.record(connection, events.INTENT_CANCELED, canceled)
    if execution_id:
        await executor.run(merchant_id, execution_id)
