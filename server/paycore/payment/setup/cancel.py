"""CancelSetupIntent: a setup not processing, succeeded or canceled is canceled at once (no
PSP call: a verification holds nothing on the card)."""

from __future__ import annotations

from paycore.errors import not_found
from paycore.payment import events
from paycore.payment.models import SetupIntent, SetupStatus
from paycore.payment.setup.flow import SetupFlow
from paycore.payment.setup.machine import CANCELABLE, require
from paycore.payment.setup.repository import SetupRepository
from sqlalchemy.ext.asyncio import AsyncConnection


async def cancel(
    flow: SetupFlow, connection: AsyncConnection, merchant_id: str, setup_id: str, reason: str
) -> SetupIntent:
    repository = SetupRepository(connection)
    setup = await repository.get(merchant_id, setup_id, lock=True)
    if setup is None:
        raise not_found("setup_intent", setup_id)
    require(setup, "cancel", CANCELABLE)
    canceled = await repository.move(
        setup, SetupStatus.CANCELED, cancellation_reason=reason or None
    )
    await flow.events.record(connection, events.SETUP_CANCELED, canceled)
    return canceled
