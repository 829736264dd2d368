"""Off-session charges: payment intents that another domain (subscription invoices) creates
and confirms in-process, without a request of their own.

The charge is phased like a confirmation (paycore.payment.intents): `record` runs in the
caller's transaction (the intent in `processing`, its execution enqueued: the recovery point);
`run` steps the execution outside any transaction; the executor's completion then applies the
answer to the intent and the ledger exactly as for any pay-in intent. The caller names the
PSP idempotency key, so one attempt is one charge however often it is retried or resumed.
No fraud check: the customer is not present, and the card was checked when it was saved.
Refunds of such intents (a subscription canceled with proration) reserve and run like
CreateRefund's (paycore.payment.refunds)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from paycore.executor.models import ExecutionState, NewExecution, Operation
from paycore.executor.repository import ExecutionRepository
from paycore.executor.service import Executor
from paycore.ids import Prefix, new_merchant_id
from paycore.payment import events
from paycore.payment.events import PayInEvents
from paycore.payment.machine import unconfirmed
from paycore.payment.models import (
    CaptureMethod,
    Intent,
    IntentStatus,
    NewIntent,
    Presence,
    RefundStatus,
)
from paycore.payment.refunds import NewRefund, pending_refund, record_refund
from paycore.payment.repository import REFUNDS, PayInRepository, refunds_query
from paycore.storage import Shards
from paycore.storage.reads import Cursor
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
    invoice_id: str | None = None
    # Whether the customer is away (a card that must authenticate is declined
    # authentication_required); False for one present (PayInvoice off_session=false), where
    # such a card leaves the intent in requires_action for them to authenticate.
    off_session: bool = True


# An intent nobody has confirmed yet, or one waiting for its buyer to authenticate (3-D
# Secure): the customer may still pay it.
AWAITING_CUSTOMER = frozenset(
    {
        IntentStatus.REQUIRES_PAYMENT_METHOD,
        IntentStatus.REQUIRES_CONFIRMATION,
        IntentStatus.REQUIRES_ACTION,
    }
)

# The refunds of one intent a prorated cancel steps (a subscription period's charge has few).
REFUNDS_MAX = 100


@dataclass(frozen=True, slots=True)
class OffSessionCharges:
    _shards: Shards
    _executor: Executor
    _events: PayInEvents

    async def record(self, connection: AsyncConnection, charge: OffSessionCharge) -> Intent:
        """The intent, `processing`, with its charge enqueued (in the caller's transaction)."""
        repository = PayInRepository(connection)
        intent = await _inserted(repository, charge, IntentStatus.PROCESSING)
        await self._events.intent.record(connection, events.INTENT_CREATED, intent)
        execution_id = await self._executor.enqueue(
            connection,
            NewExecution(
                merchant_id=charge.merchant_id,
                operation=Operation.CHARGE,
                amount=charge.amount,
                currency=charge.currency,
                psp_key=charge.psp_key,
                payment_intent_id=intent.id,
                payment_method_id=charge.payment_method_id,
                # Merchant-initiated: a card that must authenticate is declined
                # authentication_required (nobody is there to authenticate), as at Stripe;
                # with the customer present, it asks them (requires_action).
                metadata=Presence(off_session=charge.off_session).metadata(),
            ),
        )
        intent = await repository.update_intent(
            intent, execution_id=execution_id, invoice_id=charge.invoice_id
        )
        await self._events.intent.record(connection, events.INTENT_PROCESSING, intent)
        return intent

    async def record_for_customer(
        self, connection: AsyncConnection, charge: OffSessionCharge
    ) -> Intent:
        """The intent, not confirmed (in the caller's transaction): `requires_confirmation`
        with a payment method, else `requires_payment_method`. Nothing is charged; the
        customer confirms it with its client_secret (ConfirmPaymentIntent), as any intent.
        `charge.psp_key` is unused: the confirmation makes the charge."""
        repository = PayInRepository(connection)
        intent = await _inserted(repository, charge, unconfirmed(charge.payment_method_id))
        intent = await repository.update_intent(intent, invoice_id=charge.invoice_id)
        await self._events.intent.record(connection, events.INTENT_CREATED, intent)
        return intent

    async def cancel_unconfirmed(
        self, connection: AsyncConnection, merchant_id: str, intent_id: str, reason: str
    ) -> Intent | None:
        """Cancels the intent (locked) if nobody has confirmed it yet: what was left for the
        customer (record_for_customer) can no longer be paid once its invoice is voided or
        paid otherwise. Answers the intent as it then stands."""
        repository = PayInRepository(connection)
        intent = await repository.intent(merchant_id, intent_id, lock=True)
        if intent is None or intent.status not in AWAITING_CUSTOMER:
            return intent
        canceled = await repository.move_intent(
            intent,
            IntentStatus.CANCELED,
            canceled_at=datetime.now(UTC),
            cancellation_reason=reason,
        )
        await self._events.intent.record(connection, events.INTENT_CANCELED, canceled)
        return canceled

    async def run(self, merchant_id: str, intent_id: str) -> Intent | None:
        """Steps the intent's charge (outside any transaction) and answers the intent as it
        then stands: `processing` while the outcome is not known yet."""
        intent = await self.intent(merchant_id, intent_id)
        if intent is not None and intent.status is IntentStatus.PROCESSING and intent.execution_id:
            await self._executor.run(merchant_id, intent.execution_id)
            intent = await self.intent(merchant_id, intent_id)
        return intent

    async def record_refund(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        intent_id: str,
        amount: int,
        reason: str = "requested_by_customer",
    ) -> int:
        """Refunds up to `amount` of a succeeded intent (capped at what remains refundable),
        reserved as CreateRefund reserves it (paycore.payment.refunds); the caller runs it
        after commit (run_refunds). Answers how much of `amount` the intent gave back: the
        refund's amount, 0 when nothing remains. A disputed charge is not refunded (its
        chargeback took it back through the bank, as CreateRefund's CHARGE_DISPUTED says):
        what remained refundable of it counts as given back."""
        repository = PayInRepository(connection)
        intent = await repository.intent(merchant_id, intent_id, lock=True)
        if intent is None or intent.status is not IntentStatus.SUCCEEDED:
            return 0
        wanted = min(amount, intent.amount_received - intent.amount_refunded)
        if wanted <= 0 or intent.disputed:
            return max(wanted, 0)
        await repository.update_intent(intent, amount_refunded=intent.amount_refunded + wanted)
        new = NewRefund(
            payment_intent_id=intent.id,
            payment_order_id="",
            amount=wanted,
            reason=reason,
            metadata={},
        )
        refund_id = new_merchant_id(Prefix.REFUND, merchant_id)
        pending = pending_refund(merchant_id, refund_id, new, wanted, intent.currency)
        await record_refund(connection, self._executor, self._events, pending, intent.psp_charge)
        return wanted

    async def run_refunds(self, merchant_id: str, intent_id: str) -> None:
        """Steps the intent's pending refunds (outside any transaction)."""
        query = refunds_query(merchant_id, intent_id, "")
        async with self._shards.read(merchant_id) as connection:
            found = await REFUNDS.page(connection, query, Cursor(REFUNDS_MAX))
        for refund in found.data:
            if refund.status is RefundStatus.PENDING and refund.execution_id:
                await self._executor.run(merchant_id, refund.execution_id)

    @staticmethod
    async def parked(connection: AsyncConnection, merchant_id: str, intent_id: str) -> bool:
        """Whether the intent's charge waits for an operator: still `processing`, its
        execution dead-lettered (its outcome unknown after every attempt). RequeueDeadLetter
        runs it again under the same PSP key; the intent then completes as usual."""
        intent = await PayInRepository(connection).intent(merchant_id, intent_id)
        if intent is None or intent.status is not IntentStatus.PROCESSING:
            return False
        if intent.execution_id is None:
            return False
        execution = await ExecutionRepository(connection).get(merchant_id, intent.execution_id)
        return execution is not None and execution.state is ExecutionState.DEAD_LETTERED

    async def intent(self, merchant_id: str, intent_id: str) -> Intent | None:
        async with self._shards.read(merchant_id) as connection:
            return await PayInRepository(connection).intent(merchant_id, intent_id)


async def _inserted(
    repository: PayInRepository, charge: OffSessionCharge, status: IntentStatus
) -> Intent:
    """The charge's intent, new in `status`: an automatic capture of the charge's amount,
    with its customer, payment method (none for ""), description and metadata."""
    new = NewIntent(
        amount=charge.amount,
        currency=charge.currency,
        capture_method=CaptureMethod.AUTOMATIC,
        customer_id=charge.customer_id,
        payment_method_id=charge.payment_method_id or None,
        description=charge.description,
        metadata=charge.metadata,
    )
    intent_id = new_merchant_id(Prefix.PAYMENT_INTENT, charge.merchant_id)
    created = int(datetime.now(UTC).timestamp())
    return await repository.insert_intent(
        new.intent(charge.merchant_id, intent_id, status, created)
    )
