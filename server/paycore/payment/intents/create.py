"""CreatePaymentIntent. Without `confirm`: the intent in one transaction. With it: the fraud
check, then a first phase that creates the intent and confirms it; when the check lets it
through and the circuit breaker is closed, that phase is one statement
(paycore.payment.charging)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from paycore.customer.models import ChargeableCard
from paycore.errors import ApiError, Reason
from paycore.ids import Prefix, new_merchant_id
from paycore.payment import events
from paycore.payment.charging import charging, record_charging
from paycore.payment.intents.answer import answer
from paycore.payment.intents.confirm import record_confirmation
from paycore.payment.intents.flow import FirstPhase, IntentFlow, charge_execution
from paycore.payment.machine import unconfirmed
from paycore.payment.models import ON_SESSION, Intent, IntentStatus, NewIntent, Presence, Risk
from paycore.payment.repository import PayInRepository
from paycore.payment.risk import risk_of, score_request
from paycore.runtime.mutations import Phases
from sqlalchemy.ext.asyncio import AsyncConnection


async def prepare(
    flow: IntentFlow,
    merchant_id: str,
    new: NewIntent,
    confirm: bool,
    client_ip: str,
    presence: Presence = ON_SESSION,
) -> Phases[Intent]:
    """`client_ip`: the buyer's address, for fraud scoring with `confirm` ("" unknown);
    `presence`: the confirmation's off_session and return_url (3-D Secure)."""
    intent_id = new_merchant_id(Prefix.PAYMENT_INTENT, merchant_id)
    card = await flow.card(merchant_id, new.payment_method_id, new.customer_id)
    if card is not None:  # a test payment method's name became a new payment method's id
        new = replace(new, payment_method_id=card.payment_method_id)
    status = unconfirmed(new.payment_method_id)
    if not confirm:

        async def change(connection: AsyncConnection) -> Intent:
            if card is not None:
                await flow.cards.save_test_card(connection, merchant_id, card)
            created = new_intent(merchant_id, intent_id, new, status)
            intent = await PayInRepository(connection).insert_intent(created)
            await flow.events.intent.record(connection, events.INTENT_CREATED, intent)
            return intent

        return Phases(change)
    if card is None:
        raise ApiError(Reason.PARAMETER_MISSING, param="payment_method")
    facts = score_request(
        merchant_id,
        intent_id,
        new.amount,
        new.currency,
        card,
        new.customer_id,
        client_ip=client_ip,
    )
    risk = risk_of(await flow.fraud.score_payment(merchant_id, facts))
    first_phase = FirstPhase(card)

    async def record(connection: AsyncConnection) -> Intent:
        await flow.cards.save_test_card(connection, merchant_id, card)
        created = new_intent(merchant_id, intent_id, new, status)
        if not (risk.blocked or risk.held):
            recorded = await _record_charging(
                connection, flow, created, card, risk, first_phase, presence
            )
            if recorded is not None:
                return recorded
        intent = await PayInRepository(connection).insert_intent(created)
        await flow.events.intent.record(connection, events.INTENT_CREATED, intent)
        return await record_confirmation(
            connection, flow, intent, card.payment_method_id, risk, first_phase, presence
        )

    # Grouped: the record writes only the rows it creates (the intent, its events, its charge).
    return Phases(record, answer(flow, merchant_id, facts, first_phase), grouped=True)


def new_intent(merchant_id: str, intent_id: str, new: NewIntent, status: IntentStatus) -> Intent:
    """The intent as created now."""
    return new.intent(merchant_id, intent_id, status, int(datetime.now(UTC).timestamp()))


async def _record_charging(
    connection: AsyncConnection,
    flow: IntentFlow,
    created: Intent,
    card: ChargeableCard,
    risk: Risk,
    first_phase: FirstPhase,
    presence: Presence,
) -> Intent | None:
    """Create-and-confirm's first phase in one statement; None while the circuit breaker is
    not closed (the caller takes the step-by-step path)."""
    execution = await flow.executor.claim_new(
        charge_execution(created, card.payment_method_id, presence), connection
    )
    if execution is None:
        return None
    confirmed = charging(created, card.payment_method_id, risk, execution)
    await record_charging(
        connection,
        confirmed,
        [
            flow.events.intent.prepared(events.INTENT_CREATED, created),
            flow.events.intent.prepared(events.INTENT_PROCESSING, confirmed),
        ],
        execution,
        flow.executor.lease_seconds,
    )
    first_phase.intent, first_phase.execution = confirmed, execution
    return confirmed
