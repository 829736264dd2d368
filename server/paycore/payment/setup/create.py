"""CreateSetupIntent. Without `confirm`: the setup in one transaction. With it: the card is
read, then a first phase creates the setup and confirms it (confirm.record_confirmation), and
the second phase runs the verification."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from paycore.errors import ApiError, Reason
from paycore.ids import Prefix, new_merchant_id
from paycore.payment import events
from paycore.payment.models import NewSetupIntent, SetupIntent, SetupStatus
from paycore.payment.setup.answer import answer
from paycore.payment.setup.confirm import record_confirmation
from paycore.payment.setup.flow import FirstPhase, SetupFlow
from paycore.payment.setup.repository import SetupRepository
from paycore.runtime.mutations import Phases
from sqlalchemy.ext.asyncio import AsyncConnection


async def prepare(
    flow: SetupFlow, merchant_id: str, new: NewSetupIntent, confirm: bool, return_url: str = ""
) -> Phases[SetupIntent]:
    """`return_url`: with `confirm`, where the authentication page sends the buyer back."""
    setup_id = new_merchant_id(Prefix.SETUP_INTENT, merchant_id)
    card = None
    if new.payment_method_id:
        card = await flow.card(merchant_id, new.payment_method_id, new.customer_id)
        # A test payment method's name became a new payment method's id.
        new = replace(new, payment_method_id=card.payment_method_id)
    if confirm and card is None:
        raise ApiError(Reason.PARAMETER_MISSING, param="payment_method")
    created = _setup(merchant_id, setup_id, new)
    first_phase = FirstPhase(card, return_url)

    async def record(connection: AsyncConnection) -> SetupIntent:
        if card is not None:
            await flow.cards.save_test_card(connection, merchant_id, card)
        setup = await SetupRepository(connection).insert(created)
        await flow.events.record(connection, events.SETUP_CREATED, setup)
        if not confirm:
            return setup
        return await record_confirmation(connection, flow, setup, first_phase)

    if not confirm:
        return Phases(record)
    return Phases(record, answer(flow, merchant_id, first_phase))


def _setup(merchant_id: str, setup_id: str, new: NewSetupIntent) -> SetupIntent:
    status = (
        SetupStatus.REQUIRES_CONFIRMATION
        if new.payment_method_id
        else SetupStatus.REQUIRES_PAYMENT_METHOD
    )
    return SetupIntent(
        id=setup_id,
        merchant_id=merchant_id,
        created=int(datetime.now(UTC).timestamp()),
        status=status,
        usage=new.usage,
        customer_id=new.customer_id,
        payment_method_id=new.payment_method_id,
        description=new.description,
        last_setup_error=None,
        execution_id=None,
        cancellation_reason=None,
        metadata=dict(new.metadata),
    )
