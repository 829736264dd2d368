"""ConfirmPaymentIntent: the fraud check (outside any transaction), then the first phase
(`record_confirmation`): blocked -> back to requires_payment_method; held for review ->
processing without a PSP call; else processing with a charge or an authorization to run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from paycore.currency.service import Currencies
from paycore.errors import ApiError, Reason, invalid, not_found
from paycore.executor.models import Execution
from paycore.invariants import violated
from paycore.payment import events
from paycore.payment.intents.answer import answer
from paycore.payment.intents.flow import FRAUD_BLOCKED, FirstPhase, IntentFlow, charge_execution
from paycore.payment.machine import CONFIRMABLE, require
from paycore.payment.models import (
    ON_SESSION,
    Intent,
    IntentStatus,
    Presence,
    Risk,
    SetupUsage,
)
from paycore.payment.repository import PayInRepository
from paycore.payment.risk import risk_of, score_request
from paycore.runtime.mutations import Phases
from sqlalchemy.ext.asyncio import AsyncConnection


async def prepare(
    flow: IntentFlow,
    currencies: Currencies,
    merchant_id: str,
    intent_id: str,
    payment_method_id: str,
    client_ip: str,
    presence: Presence = ON_SESSION,
    *,
    buyer: bool = False,
) -> Phases[Intent]:
    """`client_ip`: the buyer's address, for fraud scoring ("" unknown); `presence`: the
    confirmation's off_session and return_url (3-D Secure: an intent in requires_action goes
    on with the buyer's authentication, charge_execution); `buyer`: the buyer's own client
    confirms (a publishable key), which may not lower the intent's setup_future_usage. Runs
    for a new idempotency key only (Mutations.prepared), so what it reads (the intent's
    status, the rate's age) never refuses the replay of a confirmation that went through."""
    intent = await flow.get(merchant_id, intent_id)
    require(intent, "confirm", CONFIRMABLE)
    _check_usage(intent, presence, buyer)

    def confirmable(locked: Intent) -> bool:
        require(locked, "confirm", CONFIRMABLE)
        _check_usage(locked, presence, buyer)
        return True

    phases, _ = await confirmation(
        flow, currencies, intent, payment_method_id, client_ip, presence, confirmable
    )
    return phases


async def confirmation(
    flow: IntentFlow,
    currencies: Currencies,
    intent: Intent,
    payment_method_id: str,
    client_ip: str,
    presence: Presence,
    admit: Callable[[Intent], bool],
) -> tuple[Phases[Intent], FirstPhase]:
    """A confirmation's phases, for ConfirmPaymentIntent and for the buyer's authentication
    that finishes it (paycore.payment.authenticated): the checks and the fraud score outside
    any transaction, then `record`, which locks the intent and goes on only if `admit` lets
    the locked intent through (it may raise: ConfirmPaymentIntent's state check). The first
    phase notes what it made in the FirstPhase returned (nothing when not admitted)."""
    merchant_id, intent_id = intent.merchant_id, intent.id
    method = payment_method_id or intent.payment_method_id
    if intent.capture_method.at_once:
        # Confirmed, it is captured at once: a converted capture needs a fresh rate, as
        # CapturePaymentIntent's (naming `id`), and so does a destination's share crossing
        # into the seller's settlement currency; an authorization converts nothing until then.
        await currencies.check_conversion(merchant_id, "", intent.currency, "id")
        if intent.transfer_destination:
            await currencies.check_destination(
                merchant_id, intent.transfer_destination, intent.currency, "id"
            )
    if not method:
        raise ApiError(Reason.PARAMETER_MISSING, param="payment_method")
    card = await flow.card(merchant_id, method, intent.customer_id)
    if card is None:
        violated("a payment method gives a card")
    facts = score_request(
        merchant_id,
        intent.id,
        intent.amount,
        intent.currency,
        card,
        intent.customer_id,
        client_ip=client_ip,
    )
    risk = risk_of(await flow.fraud.score_payment(merchant_id, facts))
    first_phase = FirstPhase(card)

    async def record(connection: AsyncConnection) -> Intent:
        locked = await PayInRepository(connection).intent(merchant_id, intent_id, lock=True)
        if locked is None:
            raise not_found("payment_intent", intent_id)
        if not admit(locked):
            return locked
        await flow.cards.save_test_card(connection, merchant_id, card)
        return await record_confirmation(
            connection, flow, locked, card.payment_method_id, risk, first_phase, presence
        )

    return Phases(record, answer(flow, merchant_id, facts, first_phase)), first_phase


def _check_usage(intent: Intent, presence: Presence, buyer: bool) -> None:
    """Stripe's rule for the buyer's client: a setup_future_usage the intent has changes only
    from on_session to off_session, and is never unset (INVALID_ARGUMENT naming it otherwise)."""
    wanted, stored = presence.setup_future_usage, intent.setup_future_usage
    lowered = wanted is SetupUsage.ON_SESSION and stored is SetupUsage.OFF_SESSION
    if buyer and (lowered or (presence.clear_setup_future_usage and stored is not None)):
        raise invalid("setup_future_usage", "can only change from on_session to off_session")


async def record_confirmation(
    connection: AsyncConnection,
    flow: IntentFlow,
    intent: Intent,
    payment_method_id: str,
    risk: Risk,
    first_phase: FirstPhase,
    presence: Presence = ON_SESSION,
) -> Intent:
    """The first phase of a confirmation; the intent and its execution, claimed for its first
    request, are noted in `first_phase` for the request's own completion."""
    repository = PayInRepository(connection)
    execution: Execution | None = None
    values: dict[str, object] = {"payment_method_id": payment_method_id, "risk": risk.to_json()}
    if presence.setup_future_usage is not None:
        values["setup_future_usage"] = presence.setup_future_usage.value
        intent = replace(intent, setup_future_usage=presence.setup_future_usage)
    elif presence.clear_setup_future_usage and intent.setup_future_usage is not None:
        values["setup_future_usage"] = None
        intent = replace(intent, setup_future_usage=None)
    if presence.receipt_email is not None:
        values["receipt_email"] = presence.receipt_email
    if risk.blocked:
        status, kind = IntentStatus.REQUIRES_PAYMENT_METHOD, events.INTENT_FAILED
        values["last_error"] = FRAUD_BLOCKED.to_json()
    else:
        status, kind = IntentStatus.PROCESSING, events.INTENT_PROCESSING
        values["last_error"] = None
        if not risk.held:
            execution = await flow.executor.enqueue_claimed(
                connection, charge_execution(intent, payment_method_id, presence)
            )
            values["execution_id"] = execution.id
    updated = await repository.move_intent(intent, status, **values)
    first_phase.intent, first_phase.execution = updated, execution
    await flow.events.intent.record(connection, kind, updated)
    return updated
