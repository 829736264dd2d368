"""ConfirmSetupIntent: the card is read (outside any transaction), then the first phase moves
the setup to processing and enqueues its verification, claimed for its first PSP request;
the second phase (answer.py) runs it. No fraud check: nothing is charged (docs/payments.md)."""

from __future__ import annotations

from collections.abc import Callable

from paycore.errors import ApiError, Reason, not_found
from paycore.payment.models import SetupIntent, SetupStatus
from paycore.payment.setup.answer import answer
from paycore.payment.setup.flow import FirstPhase, SetupFlow, verification_of
from paycore.payment.setup.machine import CONFIRMABLE, require
from paycore.payment.setup.repository import SetupRepository
from paycore.runtime.mutations import Phases
from sqlalchemy.ext.asyncio import AsyncConnection


async def prepare(
    flow: SetupFlow, merchant_id: str, setup_id: str, payment_method_id: str, return_url: str = ""
) -> Phases[SetupIntent]:
    """Runs for a new idempotency key only (Mutations.prepared). `return_url`: where the
    authentication page sends the buyer back (a setup in requires_action goes on with the
    buyer's authentication: flow.verification_of)."""
    setup = await flow.get(merchant_id, setup_id)
    require(setup, "confirm", CONFIRMABLE)
    phases, _ = await confirmation(flow, setup, payment_method_id, return_url, _confirmable)
    return phases


def _confirmable(setup: SetupIntent) -> bool:
    require(setup, "confirm", CONFIRMABLE)
    return True


async def confirmation(
    flow: SetupFlow,
    setup: SetupIntent,
    payment_method_id: str,
    return_url: str,
    admit: Callable[[SetupIntent], bool],
) -> tuple[Phases[SetupIntent], FirstPhase]:
    """A confirmation's phases, for ConfirmSetupIntent and for the buyer's authentication that
    finishes it (paycore.payment.authenticated): the card read outside any transaction, then
    `record`, which locks the setup and goes on only if `admit` lets the locked setup through
    (it may raise: ConfirmSetupIntent's state check). The first phase notes what it made in the
    FirstPhase returned (nothing when not admitted)."""
    merchant_id, setup_id = setup.merchant_id, setup.id
    method = payment_method_id or setup.payment_method_id
    if not method:
        raise ApiError(Reason.PARAMETER_MISSING, param="payment_method")
    card = await flow.card(merchant_id, method, setup.customer_id)
    first_phase = FirstPhase(card, return_url)

    async def record(connection: AsyncConnection) -> SetupIntent:
        locked = await SetupRepository(connection).get(merchant_id, setup_id, lock=True)
        if locked is None:
            raise not_found("setup_intent", setup_id)
        if not admit(locked):
            return locked
        await flow.cards.save_test_card(connection, merchant_id, card)
        return await record_confirmation(connection, flow, locked, first_phase)

    return Phases(record, answer(flow, merchant_id, first_phase)), first_phase


async def record_confirmation(
    connection: AsyncConnection, flow: SetupFlow, setup: SetupIntent, first_phase: FirstPhase
) -> SetupIntent:
    """The first phase of a confirmation (the card of `first_phase` saved already): the setup
    processing with its verification claimed, both noted in `first_phase`."""
    card = first_phase.card
    if card is None:
        raise ApiError(Reason.PARAMETER_MISSING, param="payment_method")
    execution = await flow.executor.enqueue_claimed(
        connection, verification_of(setup, card.payment_method_id, first_phase.return_url)
    )
    moved = await SetupRepository(connection).move(
        setup,
        SetupStatus.PROCESSING,
        payment_method_id=card.payment_method_id,
        last_setup_error=None,
        execution_id=execution.id,
    )
    first_phase.setup, first_phase.execution = moved, execution
    return moved
