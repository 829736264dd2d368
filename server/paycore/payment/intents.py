"""Payment intents: create, confirm (fraud check, then authorize or charge at the PSP), capture
(full or partial; the rest is released), cancel (voids an authorization).

Each call that reaches the PSP runs as two phases (paycore.runtime.mutations.phased): the first
transaction moves the intent to `processing` and enqueues an execution (the recovery point);
the second phase runs the execution outside any transaction and answers with the intent as it
then stands. A crash between the two leaves an execution that the worker resumes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from paycore.customer.models import ChargeableCard
from paycore.errors import ApiError, Reason, invalid, not_found
from paycore.events import record_event
from paycore.events.outbox import prepare_event
from paycore.executor.models import Execution, ExecutionState, NewExecution, Operation
from paycore.executor.service import CardSource, Executor
from paycore.fraud.features import PaymentFacts
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.payment import events
from paycore.payment.charging import charging, created_intent, record_charging
from paycore.payment.messages import intent_message
from paycore.payment.models import (
    CaptureMethod,
    Intent,
    IntentStatus,
    NewIntent,
    PaymentError,
    Risk,
)
from paycore.payment.payer import payer_card
from paycore.payment.repository import PayInRepository
from paycore.payment.risk import RiskScorer, risk_of, score_request
from paycore.runtime.mutations import Completion, Mutations
from paycore.storage import Shards
from paycore.storage.idempotency import open_key
from paycore.storage.pagination import page
from paycore.v1 import payment_pb2
from sqlalchemy.ext.asyncio import AsyncConnection

CONFIRMABLE = frozenset({IntentStatus.REQUIRES_PAYMENT_METHOD, IntentStatus.REQUIRES_CONFIRMATION})
CANCELABLE = frozenset(
    {
        IntentStatus.REQUIRES_PAYMENT_METHOD,
        IntentStatus.REQUIRES_CONFIRMATION,
        IntentStatus.REQUIRES_CAPTURE,
    }
)
FRAUD_BLOCKED = PaymentError(
    code="FRAUD_SUSPECTED",
    decline_code="fraudulent",
    message="The payment was blocked as likely fraudulent.",
)


class PaymentIntents:
    def __init__(
        self,
        shards: Shards,
        mutations: Mutations,
        executor: Executor,
        cards: CardSource,
        fraud: RiskScorer,
        lease: timedelta,
    ) -> None:
        self._shards = shards
        self._mutations = mutations
        self._executor = executor
        self._cards = cards
        self._fraud = fraud
        self._lease = lease

    # -- reads ----------------------------------------------------------------------------------

    async def get(self, merchant_id: str, intent_id: str) -> Intent:
        async with self._shards.read(merchant_id) as connection:
            found = await PayInRepository(connection).intent(merchant_id, intent_id)
        if found is None:
            raise not_found("payment_intent", intent_id)
        return found

    async def list(
        self, merchant_id: str, limit: int, starting_after: str, customer_id: str
    ) -> tuple[list[Intent], bool]:
        async with self._shards.read(merchant_id) as connection:
            found = await PayInRepository(connection).intents(
                merchant_id, limit, starting_after, customer_id
            )
        return page(found, limit)

    # -- create and confirm ---------------------------------------------------------------------

    async def create(
        self,
        merchant_id: str,
        request: payment_pb2.CreatePaymentIntentRequest,
        new: NewIntent,
        confirm: bool,
    ) -> payment_pb2.PaymentIntent:
        if await self._mutations.key_seen(merchant_id):
            return await self._mutations.resume(
                merchant_id,
                request,
                payment_pb2.PaymentIntent,
                self._completion(merchant_id),
                self._lease,
            )
        intent_id = new_id(Prefix.PAYMENT_INTENT, logical_shard_of(merchant_id, Prefix.ACCOUNT))
        card = await self._card(merchant_id, new.payment_method_id, new.customer_id)
        status = (
            IntentStatus.REQUIRES_CONFIRMATION
            if new.payment_method_id
            else IntentStatus.REQUIRES_PAYMENT_METHOD
        )
        if not confirm:

            async def change(connection: AsyncConnection) -> payment_pb2.PaymentIntent:
                intent = await PayInRepository(connection).insert_intent(
                    merchant_id, intent_id, new, status
                )
                message = intent_message(intent)
                await record_event(connection, merchant_id, events.INTENT_CREATED, message)
                return message

            return await self._mutations.for_merchant(
                merchant_id, request, payment_pb2.PaymentIntent, change
            )
        if card is None:
            raise ApiError(Reason.PARAMETER_MISSING, param="payment_method")
        scored = score_request(
            merchant_id, intent_id, new.amount, new.currency, card, new.customer_id
        )
        risk = await self._score(merchant_id, scored)
        first_phase = FirstPhase(card)

        async def record(connection: AsyncConnection) -> payment_pb2.PaymentIntent:
            if not (risk.blocked or risk.held):
                recorded = await self._record_charging(
                    connection, merchant_id, intent_id, new, status, card, risk, first_phase
                )
                if recorded is not None:
                    return recorded
            repository = PayInRepository(connection)
            intent = await repository.insert_intent(merchant_id, intent_id, new, status)
            await record_event(
                connection, merchant_id, events.INTENT_CREATED, intent_message(intent)
            )
            return await self._record_confirmation(
                connection, intent, card.payment_method_id, risk, first_phase
            )

        return await self._mutations.phased(
            merchant_id,
            request,
            payment_pb2.PaymentIntent,
            record,
            self._completion(merchant_id, scored, first_phase),
            self._lease,
        )

    async def confirm(
        self, merchant_id: str, request: payment_pb2.ConfirmPaymentIntentRequest
    ) -> payment_pb2.PaymentIntent:
        if await self._mutations.key_seen(merchant_id):
            return await self._mutations.resume(
                merchant_id,
                request,
                payment_pb2.PaymentIntent,
                self._completion(merchant_id),
                self._lease,
            )
        intent = await self.get(merchant_id, request.id)
        payment_method_id = request.payment_method or intent.payment_method_id
        if intent.status not in CONFIRMABLE:
            raise _unexpected(intent, "confirm", CONFIRMABLE)
        if not payment_method_id:
            raise ApiError(Reason.PARAMETER_MISSING, param="payment_method")
        card = await self._card(merchant_id, payment_method_id, intent.customer_id)
        assert card is not None
        scored = score_request(
            merchant_id, intent.id, intent.amount, intent.currency, card, intent.customer_id
        )
        risk = await self._score(merchant_id, scored)
        first_phase = FirstPhase(card)

        async def record(connection: AsyncConnection) -> payment_pb2.PaymentIntent:
            locked = await PayInRepository(connection).intent(merchant_id, request.id, lock=True)
            assert locked is not None
            if locked.status not in CONFIRMABLE:
                raise _unexpected(locked, "confirm", CONFIRMABLE)
            return await self._record_confirmation(
                connection, locked, payment_method_id, risk, first_phase
            )

        return await self._mutations.phased(
            merchant_id,
            request,
            payment_pb2.PaymentIntent,
            record,
            self._completion(merchant_id, scored, first_phase),
            self._lease,
        )

    async def _record_charging(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        intent_id: str,
        new: NewIntent,
        status: IntentStatus,
        card: ChargeableCard,
        risk: Risk,
        first_phase: FirstPhase,
    ) -> payment_pb2.PaymentIntent | None:
        """Create-and-confirm's first phase in one statement (paycore.payment.charging); None
        while the circuit breaker is not closed (the caller takes the step-by-step path)."""
        now = datetime.now(UTC)
        created = created_intent(merchant_id, intent_id, new, status, now)
        execution = self._executor.claim_new(self._charge(created, card.payment_method_id))
        if execution is None:
            return None
        confirmed = charging(created, card.payment_method_id, risk, execution)
        message = intent_message(confirmed)
        await record_charging(
            connection,
            confirmed,
            now,
            [
                prepare_event(merchant_id, events.INTENT_CREATED, intent_message(created)),
                prepare_event(merchant_id, events.INTENT_PROCESSING, message),
            ],
            execution,
            self._executor.lease_seconds,
        )
        first_phase.intent, first_phase.execution = confirmed, execution
        return message

    async def _record_confirmation(
        self,
        connection: AsyncConnection,
        intent: Intent,
        payment_method_id: str,
        risk: Risk,
        first_phase: FirstPhase | None = None,
    ) -> payment_pb2.PaymentIntent:
        """The first phase of a confirmation: blocked -> back to requires_payment_method;
        held for review -> processing without a PSP call; else processing with an execution
        (with `first_phase`, claimed for its first request, and noted there with the intent)."""
        repository = PayInRepository(connection)
        execution: Execution | None = None
        values: dict[str, object] = {
            "payment_method_id": payment_method_id,
            "risk": risk.to_json(),
        }
        if risk.blocked:
            values.update(
                status=IntentStatus.REQUIRES_PAYMENT_METHOD.value,
                last_error=FRAUD_BLOCKED.to_json(),
            )
            kind = events.INTENT_FAILED
        else:
            values.update(status=IntentStatus.PROCESSING.value, last_error=None)
            kind = events.INTENT_PROCESSING
            if not risk.held and first_phase is None:
                values["execution_id"] = await self._enqueue_charge(
                    connection, intent, payment_method_id
                )
            elif not risk.held:
                execution = await self._executor.enqueue_claimed(
                    connection, self._charge(intent, payment_method_id)
                )
                values["execution_id"] = execution.id
        updated = await repository.update_intent(intent, **values)
        if first_phase is not None:
            first_phase.intent, first_phase.execution = updated, execution
        message = intent_message(updated)
        await record_event(connection, intent.merchant_id, kind, message)
        return message

    async def _enqueue_charge(
        self, connection: AsyncConnection, intent: Intent, payment_method_id: str
    ) -> str:
        return await self._executor.enqueue(connection, self._charge(intent, payment_method_id))

    def _charge(self, intent: Intent, payment_method_id: str) -> NewExecution:
        operation = (
            Operation.CHARGE
            if intent.capture_method is CaptureMethod.AUTOMATIC
            else Operation.AUTHORIZE
        )
        return _execution_of(intent, operation, intent.amount, payment_method_id)

    async def _enqueue(
        self,
        connection: AsyncConnection,
        intent: Intent,
        operation: Operation,
        amount: int,
        payment_method_id: str | None = None,
    ) -> str:
        return await self._executor.enqueue(
            connection, _execution_of(intent, operation, amount, payment_method_id)
        )

    def _completion(
        self,
        merchant_id: str,
        scored: PaymentFacts | None = None,
        first_phase: FirstPhase | None = None,
    ) -> Completion[payment_pb2.PaymentIntent]:
        """`scored`: what the fraud check saw, fed back with the PSP's answer (a resumed
        request rebuilds it from the stored card). `first_phase`: what this request's own
        first phase left (a resumed request reads the intent instead)."""

        async def complete(recorded: payment_pb2.PaymentIntent) -> payment_pb2.PaymentIntent:
            """The second phase: runs the intent's open execution, if any, and answers with
            the intent as it then stands."""
            key = open_key()
            if key is not None:  # the completion's transaction stores the answer
                key.subject = recorded.id
            known = first_phase.intent if first_phase is not None else None
            if known is None:
                intent = await self.get(merchant_id, recorded.id)
                claimed, card = None, None
            else:
                assert first_phase is not None
                intent, claimed, card = known, first_phase.execution, first_phase.card
            if intent.execution_id and intent.status is IntentStatus.PROCESSING:
                execution = await self._executor.run(
                    merchant_id, intent.execution_id, claimed=claimed, card=card
                )
                if execution.operation in (Operation.CHARGE, Operation.AUTHORIZE) and (
                    execution.state in (ExecutionState.SUCCEEDED, ExecutionState.FAILED)
                ):
                    answer = execution.answer
                    await self._report_outcome(
                        intent,
                        scored,
                        execution.succeeded,
                        answer.decline_code if answer else "",
                    )
                if key is not None and isinstance(key.answer, payment_pb2.PaymentIntent):
                    return key.answer  # the intent as the execution's completion left it
                intent = await self.get(merchant_id, recorded.id)
            return intent_message(intent)

        return complete

    # -- capture and cancel ---------------------------------------------------------------------

    async def capture(
        self, merchant_id: str, request: payment_pb2.CapturePaymentIntentRequest
    ) -> payment_pb2.PaymentIntent:
        async def record(connection: AsyncConnection) -> payment_pb2.PaymentIntent:
            repository = PayInRepository(connection)
            intent = await repository.intent(merchant_id, request.id, lock=True)
            if intent is None:
                raise not_found("payment_intent", request.id)
            if intent.status is not IntentStatus.REQUIRES_CAPTURE:
                raise _unexpected(intent, "capture", {IntentStatus.REQUIRES_CAPTURE})
            amount = (
                request.amount_to_capture
                if request.HasField("amount_to_capture")
                else intent.amount_capturable
            )
            if amount <= 0:
                raise invalid("amount_to_capture", "must be at least 1")
            if amount > intent.amount_capturable:
                raise ApiError(
                    Reason.CAPTURE_EXCEEDS_AUTHORIZED,
                    param="amount_to_capture",
                    amount=amount,
                    capturable=intent.amount_capturable,
                )
            execution_id = await self._enqueue(connection, intent, Operation.CAPTURE, amount)
            current = await repository.update_intent(
                intent, status=IntentStatus.PROCESSING.value, execution_id=execution_id
            )
            return intent_message(current)

        return await self._mutations.phased(
            merchant_id,
            request,
            payment_pb2.PaymentIntent,
            record,
            self._completion(merchant_id),
            self._lease,
        )

    async def cancel(
        self, merchant_id: str, request: payment_pb2.CancelPaymentIntentRequest, reason: str
    ) -> payment_pb2.PaymentIntent:
        async def record(connection: AsyncConnection) -> payment_pb2.PaymentIntent:
            repository = PayInRepository(connection)
            intent = await repository.intent(merchant_id, request.id, lock=True)
            if intent is None:
                raise not_found("payment_intent", request.id)
            held = (
                intent.status is IntentStatus.PROCESSING
                and intent.risk is not None
                and (intent.risk.held and intent.execution_id is None)
            )
            if intent.status not in CANCELABLE and not held:
                raise _unexpected(intent, "cancel", CANCELABLE)
            values: dict[str, object] = {"cancellation_reason": reason or None}
            if intent.status is IntentStatus.REQUIRES_CAPTURE:
                # The authorization is voided at the PSP first; the void's completion cancels.
                values.update(
                    status=IntentStatus.PROCESSING.value,
                    execution_id=await self._enqueue(
                        connection, intent, Operation.VOID, intent.amount_capturable
                    ),
                )
            else:
                values.update(status=IntentStatus.CANCELED.value, canceled_at=datetime.now(UTC))
            current = await repository.update_intent(intent, **values)
            message = intent_message(current)
            if current.status is IntentStatus.CANCELED:
                await record_event(connection, merchant_id, events.INTENT_CANCELED, message)
            return message

        return await self._mutations.phased(
            merchant_id,
            request,
            payment_pb2.PaymentIntent,
            record,
            self._completion(merchant_id),
            self._lease,
        )

    # -- a review closed ------------------------------------------------------------------------

    async def review_closed(self, merchant_id: str, intent_id: str, approved: bool) -> None:
        """An operator approved (charge it now) or rejected (cancel it) a held intent."""
        engine = self._shards.engine_for_merchant(merchant_id)
        async with engine.begin() as connection:
            repository = PayInRepository(connection)
            intent = await repository.intent(merchant_id, intent_id, lock=True)
            if (
                intent is None
                or intent.status is not IntentStatus.PROCESSING
                or intent.execution_id
            ):
                return
            if approved:
                execution_id = await self._enqueue_charge(
                    connection, intent, intent.payment_method_id or ""
                )
                await repository.update_intent(intent, execution_id=execution_id)
            else:
                current = await repository.update_intent(
                    intent,
                    status=IntentStatus.CANCELED.value,
                    canceled_at=datetime.now(UTC),
                    cancellation_reason="fraudulent",
                )
                await record_event(
                    connection, merchant_id, events.INTENT_CANCELED, intent_message(current)
                )
        if approved:
            await self._executor.run(merchant_id, execution_id)

    # -- shared ---------------------------------------------------------------------------------

    async def _card(
        self, merchant_id: str, payment_method_id: str | None, customer_id: str | None
    ) -> ChargeableCard | None:
        if not payment_method_id:
            return None
        return await payer_card(self._cards, merchant_id, payment_method_id, customer_id)

    async def _score(self, merchant_id: str, scored: PaymentFacts) -> Risk:
        return risk_of(await self._fraud.score_payment(merchant_id, scored))

    async def _report_outcome(
        self,
        intent: Intent,
        scored: PaymentFacts | None,
        succeeded: bool,
        decline_code: str,
    ) -> None:
        if scored is None:
            card = await self._cards.card_for_charge(
                intent.merchant_id, intent.payment_method_id or ""
            )
            scored = score_request(
                intent.merchant_id,
                intent.id,
                intent.amount,
                intent.currency,
                card,
                intent.customer_id,
            )
        await self._fraud.record_payment_outcome(
            intent.merchant_id, scored, succeeded=succeeded, decline_code=decline_code
        )


@dataclass
class FirstPhase:
    """What a request's first phase made, for its own completion: the intent as committed and
    its execution as claimed (enqueue_claimed), beside the card the request read."""

    card: ChargeableCard | None
    intent: Intent | None = None
    execution: Execution | None = None


def _execution_of(
    intent: Intent, operation: Operation, amount: int, payment_method_id: str | None
) -> NewExecution:
    # The execution's own id is the PSP's idempotency key (a new confirmation after a
    # decline is a new charge; every retry of one execution is the same charge).
    return NewExecution(
        merchant_id=intent.merchant_id,
        operation=operation,
        amount=amount,
        currency=intent.currency,
        psp_key="",
        payment_intent_id=intent.id,
        payment_method_id=payment_method_id,
        psp_charge=intent.psp_charge,
    )


def _unexpected(
    intent: Intent, action: str, expected: frozenset[IntentStatus] | set[IntentStatus]
) -> ApiError:
    return ApiError(
        Reason.PAYMENT_INTENT_UNEXPECTED_STATE,
        param="id",
        status=intent.status.value,
        action=action,
        expected=", ".join(sorted(status.value for status in expected)),
    )
