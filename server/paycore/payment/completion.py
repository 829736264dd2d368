"""Applies a finished execution to the payment it belongs to, inside the executor's recording
transaction: the intent, order or refund status, the ledger transfers and the outbox event
commit together, or not at all (docs/design.md, "Payment flow" step 4)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from paycore.account.fee_plans import FeePlan, plan_of
from paycore.errors import ApiError
from paycore.events.models import NewEvent
from paycore.events.outbox import record_prepared
from paycore.executor.grouping import Joined
from paycore.executor.models import Execution, Operation
from paycore.executor.service import Applied
from paycore.ids import Prefix, new_merchant_id
from paycore.invariants import violated
from paycore.payment import events
from paycore.payment.charges import charge_of
from paycore.payment.events import PayInEvents
from paycore.payment.models import (
    OWN_DECLINE_CODES,
    ChargeAttempt,
    ChargeCard,
    Intent,
    IntentStatus,
    NextAction,
    Order,
    OrderStatus,
    PaymentError,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from paycore.payment.money import Capture, Credit, PayInLedger, Reversal
from paycore.payment.refunds import release_refund
from paycore.payment.repository import APPLICATION_FEES, PayInRepository, fee_refunded_directly
from paycore.payment.setup.flow import SetupCards
from sqlalchemy.ext.asyncio import AsyncConnection

AUTHENTICATION_FAILURE = "authentication_failure"
"""The PSP's decline of a charge or setup whose buyer failed the authentication (3-D Secure):
Stripe's code payment_intent_authentication_failure (setup_intent_... for a setup), with no
decline_code."""


def failure_of(execution: Execution, subject: str = "payment_intent") -> PaymentError:
    """Why the execution failed; `subject` names the object in the code of a failed
    authentication ("payment_intent" | "setup_intent")."""
    answer = execution.answer
    # The declined charge the PSP named (a payment's; a setup moves no money: none).
    charge = answer.reference if answer is not None and subject == "payment_intent" else ""
    if answer is not None and answer.declined and answer.decline_code == AUTHENTICATION_FAILURE:
        return PaymentError(
            code=f"{subject}_{AUTHENTICATION_FAILURE}".upper(),
            message=answer.message or "The card's authentication failed.",
            charge=charge,
        )
    if answer is not None and answer.declined:
        return PaymentError(
            code=OWN_DECLINE_CODES.get(answer.decline_code, "CARD_DECLINED"),
            decline_code=answer.decline_code,
            message=answer.message or "The card was declined.",
            charge=charge,
        )
    return PaymentError(
        code=(execution.failure_code or "processing_error").upper(),
        message=execution.failure_message or "The payment could not be processed.",
    )


async def _reversal(
    connection: AsyncConnection, intent: Intent | None, refund: Refund
) -> Reversal | None:
    """What a destination charge's refund moves between the merchant and the seller, as its
    first phase decided (paycore.payment.refunds), with what the charge's earlier refunds and
    the fee's own refunds left of the charge and its fee; None when it asked for neither."""
    moved = (refund.transfer_reversal_amount, refund.application_fee_refund_amount)
    if moved == (None, None):
        return None
    if intent is None or not intent.transfer_destination:
        violated(f"refund {refund.id} reverses a transfer its charge never made")
    merchant_id, received = intent.merchant_id, intent.amount_received
    reversed_, given = await PayInRepository(connection).moved_back(
        merchant_id, intent.id, refund.id
    )
    given += await fee_refunded_directly(connection, merchant_id, intent.id)
    return Reversal(
        intent.transfer_destination,
        moved[0] or 0,
        moved[1] or 0,
        charged=received,
        transfer_left=received - reversed_,
        fee_left=intent.platform_fee(received) - given,
    )


def _attempt(
    execution: Execution,
    intent: Intent,
    card: ChargeCard | None,
    balance_transaction_id: str | None = None,
) -> ChargeAttempt:
    """The charge or authorization `execution` made, as GetCharge reads it
    (paycore.payment.repository.CHARGES), from what its completion holds: no statement. Its
    capture's balance transaction is posted last (the ledger comes last) under the id the
    completion named before (`balance_transaction_id`), which the events built from it show."""
    answer = execution.answer
    return ChargeAttempt(
        id=answer.reference if answer else "",
        merchant_id=execution.merchant_id,
        created=execution.created,
        operation=execution.operation.value,
        state=execution.state.value,
        amount=execution.amount,
        currency=execution.currency,
        payment_method_id=execution.payment_method_id or intent.payment_method_id,
        decline_code=answer.decline_code if answer and answer.status == "declined" else "",
        psp_message=answer.message if answer else "",
        failure_code=execution.failure_code,
        failure_message=execution.failure_message,
        intent=intent,
        card=card,
        dispute_id=None,
        balance_transaction_id=balance_transaction_id,
    )


@dataclass(frozen=True, slots=True, eq=False)
class PayInCompletion:
    """The executor's completion for pay-in's operations (paycore.executor.models.
    PAY_IN_OPERATIONS); answers the object it settled (the executor hands it to the request
    that waits on it, which stores it as its final answer in this transaction).

    Compared and hashed by identity (eq=False): the executor groups a commit's executions by
    their completion object, and a prepared copy holds a dict."""

    _money: PayInLedger
    _events: PayInEvents
    _cards: SetupCards
    """Saves an intent's payment method for later (its setup_future_usage), as a setup's."""
    _locked: Mapping[tuple[str, str], tuple[Intent, FeePlan, ChargeCard | None]] | None = None
    """Intents (by merchant and id) with their plans and cards, locked in this transaction by
    `prepare`."""

    async def prepare(
        self, connection: AsyncConnection, executions: list[Execution]
    ) -> PayInCompletion:
        """For a group commit (paycore.executor.service.Completion): the intents of the
        group's executions locked in one statement, in the order of their ids; the answer
        applies them. A refund's intent is locked there too, although its completion reads it
        again: a refund books its money as it completes, so the group's next refund would
        otherwise lock its intent while holding the merchant's ledger accounts, against a
        transaction holding that intent and waiting for those accounts (a deadlock). A payment
        order's refund locks its order for the same reason."""
        keys = [
            (execution.merchant_id, execution.payment_intent_id)
            for execution in executions
            if execution.payment_intent_id and not execution.payment_order_id
        ]
        refunded_orders = [
            (execution.merchant_id, execution.payment_order_id)
            for execution in executions
            if execution.refund_id and execution.payment_order_id
        ]
        repository = PayInRepository(connection)
        locked = await repository.locked_intents_and_plans(keys) if keys else None
        if refunded_orders:
            await repository.lock_orders(refunded_orders)  # as a refund's intent, above
        if locked is None:
            return self
        return PayInCompletion(self._money, self._events, self._cards, locked)

    async def __call__(
        self, connection: AsyncConnection, execution: Execution
    ) -> Intent | Order | Refund | Applied | None:
        if execution.refund_id:
            return await self._refund(connection, execution)
        if execution.payment_order_id:
            return await self._order(connection, execution)
        if execution.payment_intent_id:
            return await self._intent(connection, execution)
        return None

    async def _intent(
        self, connection: AsyncConnection, execution: Execution
    ) -> Intent | Applied | None:
        repository = PayInRepository(connection)
        merchant_id = execution.merchant_id
        intent_id = execution.payment_intent_id or ""
        intent: Intent | None
        if self._locked is not None and (merchant_id, intent_id) in self._locked:
            intent, plan, card = self._locked[merchant_id, intent_id]
        else:
            intent, plan, card = await repository.locked_intent_and_plan(merchant_id, intent_id)
        if intent is None or intent.execution_id != execution.id:
            return None
        operation = execution.operation
        if not execution.succeeded:
            error = failure_of(execution).to_json()
            if operation in (Operation.CHARGE, Operation.AUTHORIZE):
                return await repository.update_intent_with_event(
                    intent,
                    self._events_with_charge(
                        events.INTENT_FAILED, events.CHARGE_FAILED, execution, card
                    ),
                    locked=True,
                    status=IntentStatus.REQUIRES_PAYMENT_METHOD.value,
                    last_error=error,
                )
            # A capture or void the PSP refused: the authorization stands.
            return await repository.move_intent(
                intent, IntentStatus.REQUIRES_CAPTURE, last_error=error
            )
        if execution.answer is not None and execution.answer.requires_action:
            return await self._requires_action(connection, intent, execution)
        await self._save_for_later(connection, intent, execution)
        reference = execution.answer.reference if execution.answer else ""
        if operation is Operation.AUTHORIZE:
            hold = await self._money.hold(
                connection,
                merchant_id,
                source=intent.id,
                amount=intent.amount,
                currency=intent.currency,
            )
            updated = await repository.move_intent(
                intent,
                IntentStatus.REQUIRES_CAPTURE,
                amount_capturable=intent.amount,
                psp_charge=reference,
                hold_transfer_id=hold,
                last_error=None,
            )
            charge = charge_of(_attempt(execution, updated, card))
            await record_prepared(
                connection,
                [
                    self._events.intent.prepared(events.INTENT_CAPTURABLE, updated),
                    self._events.charge.prepared(events.CHARGE_SUCCEEDED, charge),
                ],
            )
            return updated
        if operation in (Operation.CHARGE, Operation.CAPTURE):
            return await self._received(
                repository, intent, plan.fee_for(execution.amount), execution, card
            )
        if operation is Operation.VOID:
            if intent.hold_transfer_id:
                await self._money.release(
                    connection,
                    merchant_id,
                    source=intent.id,
                    hold_transfer_id=intent.hold_transfer_id,
                )
            updated = await repository.move_intent(
                intent, IntentStatus.CANCELED, amount_capturable=0, canceled_at=datetime.now(UTC)
            )
            await self._events.intent.record(connection, events.INTENT_CANCELED, updated)
            return updated
        violated(f"no completion for a succeeded {operation} of an intent")

    async def _requires_action(
        self, connection: AsyncConnection, intent: Intent, execution: Execution
    ) -> Intent:
        """The card must authenticate (3-D Secure): nothing was charged; the intent waits for
        the buyer on the PSP's page, and its next confirmation goes on with that
        authentication (paycore.payment.intents.flow.charge_execution)."""
        answer = execution.answer
        if answer is None or execution.operation not in (Operation.CHARGE, Operation.AUTHORIZE):
            violated(f"execution {execution.id} asks for an authentication it cannot take")
        updated = await PayInRepository(connection).move_intent(
            intent,
            IntentStatus.REQUIRES_ACTION,
            next_action=NextAction(
                authentication=answer.authentication,
                url=answer.authentication_url,
                return_url=execution.metadata.get("return_url", ""),
            ).to_json(),
            last_error=None,
        )
        await self._events.intent.record(connection, events.INTENT_REQUIRES_ACTION, updated)
        return updated

    async def _save_for_later(
        self, connection: AsyncConnection, intent: Intent, execution: Execution
    ) -> None:
        """Stripe's setup_future_usage: the charged (or authorized) card saved for that use and
        attached to the intent's customer, as a succeeded SetupIntent saves it. A card that
        cannot be (detached, or another customer's since the confirmation) stays as it is: the
        payment it made stands. Only a charge or authorization saves (not its capture)."""
        charged = execution.operation in (Operation.CHARGE, Operation.AUTHORIZE)
        if intent.setup_future_usage is None or not charged:
            return
        try:
            await self._cards.save_for_setup(
                connection,
                intent.merchant_id,
                execution.payment_method_id or intent.payment_method_id or "",
                intent.customer_id,
                intent.setup_future_usage.value,
                execution.answer.network_token if execution.answer is not None else "",
            )
        except ApiError:
            return

    def _events_with_charge(
        self,
        kind: str,
        charge_kind: str,
        execution: Execution,
        card: ChargeCard | None,
        balance_transaction_id: str | None = None,
    ) -> Callable[[Intent], list[NewEvent]]:
        """The intent's event and its charge's, of the intent as changed (the charge's only
        when the PSP named it: an attempt with no ch_ is no charge)."""

        def both(intent: Intent) -> list[NewEvent]:
            written = [self._events.intent.prepared(kind, intent)]
            attempt = _attempt(execution, intent, card, balance_transaction_id)
            if attempt.id:
                written.append(self._events.charge.prepared(charge_kind, charge_of(attempt)))
            return written

        return both

    async def _received(
        self,
        repository: PayInRepository,
        intent: Intent,
        fee: int,
        execution: Execution,
        card: ChargeCard | None,
    ) -> Applied:
        """A charge or capture succeeded: the intent and its events now, the money last."""
        merchant_id, operation = intent.merchant_id, execution.operation
        reference = execution.answer.reference if execution.answer else ""
        at_once = execution.answer.bypass_pending if execution.answer else False
        received = execution.amount
        # The capture's balance transaction, posted last (the ledger last), named now so
        # that its charge's events show it as GetCharge does afterwards.
        transaction_id = new_merchant_id(Prefix.BALANCE_TRANSACTION, merchant_id)
        # A destination charge's application fee is capped at what was received (Stripe's
        # rule; a partial capture below it passes nothing on): the intent shows the fee the
        # ledger keeps below, not the one asked for.
        kept = (
            {"application_fee_amount": intent.platform_fee(received)}
            if intent.transfer_destination
            else {}
        )
        if operation is Operation.CAPTURE:
            # The charge is the authorization's: one read of it (its card and time), before
            # the intent's write, which may wait for the group's flush.
            authorized = await repository.charge(
                merchant_id, intent.psp_charge or "", with_refunds=False
            )
            if authorized is None:
                violated(f"intent {intent.id} captures a charge paycore never made")

            def captured_events(changed: Intent) -> list[NewEvent]:
                captured = charge_of(
                    replace(authorized, intent=changed, balance_transaction_id=transaction_id)
                )
                return [
                    self._events.intent.prepared(events.INTENT_SUCCEEDED, changed),
                    self._events.charge.prepared(events.CHARGE_CAPTURED, captured),
                ]

            event_of: Callable[[Intent], list[NewEvent]] = captured_events
        else:
            event_of = self._events_with_charge(
                events.INTENT_SUCCEEDED, events.CHARGE_SUCCEEDED, execution, card, transaction_id
            )
        updated = await repository.update_intent_with_event(
            intent,
            event_of,
            locked=True,
            status=IntentStatus.SUCCEEDED.value,
            amount_received=received,
            amount_capturable=0,
            fee=fee,
            psp_charge=intent.psp_charge or reference,
            last_error=None,
            **kept,
        )

        if not (intent.transfer_destination or operation is Operation.CAPTURE):
            # A plain charge: in a group commit, one posting for the merchant's charges.
            capture = Capture(intent.id, received, intent.currency, fee, at_once, transaction_id)
            money = self._money

            async def together(connection: AsyncConnection, captures: list[Capture]) -> None:
                await money.capture_together(connection, merchant_id, captures)

            return Applied(updated, Joined((money, merchant_id), capture, together))

        async def post(connection: AsyncConnection) -> None:
            await self._money.capture(
                connection,
                merchant_id,
                source=intent.id,
                amount=received,
                currency=intent.currency,
                fee=fee,
                credit=Credit(
                    destination=intent.transfer_destination,
                    application_fee=intent.platform_fee(received),
                ),
                hold_transfer_id=intent.hold_transfer_id
                if operation is Operation.CAPTURE
                else None,
                at_once=at_once,
                balance_transaction_id=transaction_id,
            )

        # The ledger last, after the request's answer is stored: its accounts are the
        # merchant's, shared by all its payments, so their locks are held from the
        # posting to the commit, and nothing else waits then.
        return Applied(updated, post)

    async def _order(self, connection: AsyncConnection, execution: Execution) -> Order | None:
        repository = PayInRepository(connection)
        merchant_id = execution.merchant_id
        order = await repository.order(merchant_id, execution.payment_order_id or "")
        if order is None or order.execution_id != execution.id:
            return None
        # The payment first, then its order: one lock order for every order of a payment.
        payment = await repository.payment(merchant_id, order.payment_id, lock=True)
        order = await repository.order(merchant_id, order.id, lock=True)
        if payment is None or order is None:
            violated(f"payment order {execution.payment_order_id} or its payment vanished")
        if order.status is not OrderStatus.EXECUTING:
            return None
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
                at_once=execution.answer.bypass_pending if execution.answer else False,
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
        await self._events.order.record(connection, kind, updated)
        await self.settle_payment(connection, merchant_id, payment.id)
        return updated

    async def settle_payment(
        self, connection: AsyncConnection, merchant_id: str, payment_id: str
    ) -> None:
        """Derives the payment's status from its orders (the payment row is locked)."""
        repository = PayInRepository(connection)
        payment = await repository.payment(merchant_id, payment_id)
        if payment is None:
            violated(f"payment {payment_id} vanished")
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
        kind = events.PAYMENT_EVENTS.get(status)
        if kind and updated is not None:
            await self._events.payment.record(connection, kind, updated)

    async def _refund(self, connection: AsyncConnection, execution: Execution) -> Refund | None:
        repository = PayInRepository(connection)
        merchant_id = execution.merchant_id
        refund = await repository.refund(merchant_id, execution.refund_id or "")
        if refund is None or refund.status is not RefundStatus.PENDING:
            return None
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
                charge=refund.payment_intent_id or refund.payment_order_id or "",
                reversal=await _reversal(connection, intent, refund),
            )
            await repository.update_refund(refund, status=RefundStatus.SUCCEEDED.value)
        else:
            # The refund's reservation of the refundable amount is given back.
            failure = failure_of(execution).code.lower()
            await release_refund(repository, refund, RefundStatus.FAILED, failure)
        updated = await repository.refund(merchant_id, refund.id)
        if updated is None:
            violated(f"refund {refund.id} vanished")
        # The *.updated events carry what the completion changed (Stripe's
        # previous_attributes: the pending status, no balance transaction or failure yet);
        # refund.failed, no *.updated event, carries none. A failure is a change of the refund
        # too: Stripe sends refund.updated with refund.failed.
        written = [
            self._events.refund.prepared(events.REFUND_UPDATED, updated, before=refund),
            *(
                []
                if execution.succeeded
                else [self._events.refund.prepared(events.REFUND_FAILED, updated)]
            ),
            self._events.refund.prepared(events.CHARGE_REFUND_UPDATED, updated, before=refund),
        ]
        if execution.succeeded and intent is not None:
            written += await self._refunded(connection, intent, updated)
        await record_prepared(connection, written)
        return updated

    async def _refunded(
        self, connection: AsyncConnection, intent: Intent, refund: Refund
    ) -> list[NewEvent]:
        """The events of an intent's refund that succeeded beside the refund's own:
        application_fee.refunded when it gave back some of the fee (the fee as it now reads,
        this refund's share counted), and charge.refunded."""
        repository = PayInRepository(connection)
        merchant_id = intent.merchant_id
        written = []
        if refund.application_fee_refund_amount:
            fee = await APPLICATION_FEES.fetch(connection, merchant_id, intent.id)
            if fee is not None:
                written.append(
                    self._events.application_fee.prepared(events.APPLICATION_FEE_REFUNDED, fee)
                )
        if intent.psp_charge:
            # charge.refunded, with the charge's refunds as GetCharge reads them (two reads).
            charge = await repository.charge(merchant_id, intent.psp_charge, with_refunds=True)
            if charge is not None:
                written.append(
                    self._events.charge.prepared(events.CHARGE_REFUNDED, charge_of(charge))
                )
        return written
