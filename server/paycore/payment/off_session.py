"""Off-session charges: payment intents that another domain (subscription invoices) creates
and confirms in-process, without a request of their own.

The charge is phased like a confirmation (paycore.payment.intents): `record` runs in the
caller's transaction (the intent in `processing`, its execution enqueued: the recovery point);
`run` steps the execution outside any transaction; the executor's completion then applies the
answer to the intent and the ledger exactly as for any pay-in intent. The caller names the
PSP idempotency key, so one attempt is one charge however often it is retried or resumed.
No fraud check: the customer is not present, and the card was checked when it was saved."""

from __future__ import annotations

from dataclasses import dataclass, field

from paycore.events import record_event
from paycore.executor.models import NewExecution, Operation
from paycore.executor.service import Executor
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.payment import events
from paycore.payment.messages import intent_message
from paycore.payment.models import CaptureMethod, Intent, IntentStatus, NewIntent
from paycore.payment.repository import PayInRepository
from paycore.storage import Shards
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class OffSessionCharge:
    merchant_id: str
    customer_id: str
    payment_method_id: str
    amount: int
    currency: str
    # What the PSP deduplicates on: one per attempt.
    psp_key: str
    description: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


class OffSessionCharges:
    def __init__(self, shards: Shards, executor: Executor) -> None:
        self._shards = shards
        self._executor = executor

    async def record(self, connection: AsyncConnection, charge: OffSessionCharge) -> Intent:
        """The intent, `processing`, with its charge enqueued (in the caller's transaction)."""
        merchant_id = charge.merchant_id
        repository = PayInRepository(connection)
        intent_id = new_id(Prefix.PAYMENT_INTENT, logical_shard_of(merchant_id, Prefix.ACCOUNT))
        intent = await repository.insert_intent(
            merchant_id,
            intent_id,
            NewIntent(
                amount=charge.amount,
                currency=charge.currency,
                capture_method=CaptureMethod.AUTOMATIC,
                customer_id=charge.customer_id,
                payment_method_id=charge.payment_method_id,
                description=charge.description,
                metadata=charge.metadata,
            ),
            IntentStatus.PROCESSING,
        )
        await record_event(connection, merchant_id, events.INTENT_CREATED, intent_message(intent))
        execution_id = await self._executor.enqueue(
            connection,
            NewExecution(
                merchant_id=merchant_id,
                operation=Operation.CHARGE,
                amount=charge.amount,
                currency=charge.currency,
                psp_key=charge.psp_key,
                payment_intent_id=intent_id,
                payment_method_id=charge.payment_method_id,
            ),
        )
        intent = await repository.update_intent(intent, execution_id=execution_id)
        await record_event(
            connection, merchant_id, events.INTENT_PROCESSING, intent_message(intent)
        )
        return intent

    async def run(self, merchant_id: str, intent_id: str) -> Intent | None:
        """Steps the intent's charge (outside any transaction) and answers the intent as it
        then stands: `processing` while the outcome is not known yet."""
        intent = await self.intent(merchant_id, intent_id)
        if intent is not None and intent.status is IntentStatus.PROCESSING and intent.execution_id:
            await self._executor.run(merchant_id, intent.execution_id)
            intent = await self.intent(merchant_id, intent_id)
        return intent

    async def intent(self, merchant_id: str, intent_id: str) -> Intent | None:
        async with self._shards.read(merchant_id) as connection:
            return await PayInRepository(connection).intent(merchant_id, intent_id)
