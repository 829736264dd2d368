"""CapturePaymentIntent: captures all or part of an authorization (the rest is released at the
PSP); the capture's completion moves the money (paycore.payment.completion). CaptureCharge
(Stripe's legacy Charge.capture) is the same capture of the intent whose latest charge the ch_
is, answering the charge (`charge_phases`)."""

from __future__ import annotations

from paycore.errors import ApiError, Reason, invalid, not_found
from paycore.executor.models import Operation
from paycore.payment.charges import attempt_of, charge_of
from paycore.payment.intents.answer import answer
from paycore.payment.intents.flow import IntentFlow, execution_of
from paycore.payment.machine import CAPTURABLE, require
from paycore.payment.models import Charge, ChargeAttempt, Intent, IntentStatus
from paycore.payment.repository import PayInRepository
from paycore.runtime.mutations import Complete, FinalAnswer, Phases
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


def charge_phases(
    flow: IntentFlow, merchant_id: str, charge_id: str, amount: int | None
) -> Phases[Charge]:
    """CaptureCharge: the capture of the intent whose latest charge `charge_id` is, `amount`
    (None: everything capturable) as CapturePaymentIntent's amount_to_capture but named
    `amount`, on the intent locked as a capture locks it. CHARGE_ALREADY_CAPTURED naming `id`
    once the charge is captured; INVALID_ARGUMENT naming `id` for a charge that is not its
    intent's (an earlier, declined attempt); the intent's PAYMENT_INTENT_UNEXPECTED_STATE
    otherwise (canceled). Answers the charge as it then stands."""

    async def record(connection: AsyncConnection) -> Charge:
        found = await attempt_of(connection, merchant_id, charge_id)
        intent = await PayInRepository(connection).intent(merchant_id, found.intent.id, lock=True)
        if intent is None:
            raise not_found("charge", charge_id)
        charge = charge_of(await attempt_of(connection, merchant_id, charge_id))
        if charge.captured:
            raise ApiError(Reason.CHARGE_ALREADY_CAPTURED, param="id", id=charge_id)
        if charge_id != intent.psp_charge:
            raise invalid("id", "only the payment intent's latest charge can be captured")
        require(intent, "capture", CAPTURABLE)
        if amount is not None and amount > intent.amount_capturable:
            raise ApiError(
                Reason.CAPTURE_EXCEEDS_AUTHORIZED,
                param="amount",
                amount=amount,
                capturable=intent.amount_capturable,
            )
        await phases(flow, merchant_id, intent.id, amount).record(connection)
        return charge_of(await attempt_of(connection, merchant_id, charge_id))

    return Phases(record, charge_completion(flow, merchant_id))


def charge_completion(flow: IntentFlow, merchant_id: str) -> Complete[Charge]:
    """CaptureCharge's second phase (and its resumption): the intent's capture run (its own
    answer unstored: the charge is the call's, stored when this returns), then the charge."""
    settle = answer(flow, merchant_id)

    async def read(charge_id: str) -> ChargeAttempt:
        async def lookup(connection: AsyncConnection) -> ChargeAttempt:
            return await attempt_of(connection, merchant_id, charge_id)

        return await flow.reads.find(merchant_id, lookup, "charge", charge_id)

    async def complete(charge_id: str, final: FinalAnswer[Charge]) -> Charge:
        await settle((await read(charge_id)).intent.id, FinalAnswer.unstored())
        return charge_of(await read(charge_id))

    return complete
