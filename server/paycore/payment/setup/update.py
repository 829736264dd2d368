"""UpdateSetupIntent: Stripe's update of a setup not yet confirmed (requires_payment_method,
requires_confirmation) or waiting for its buyer's authentication (requires_action), in one
transaction. A payment method given (an id, or a test payment method's name saved as a new
one, as create saves it) makes it requires_confirmation; from requires_action its next_action
is dropped, as an intent's: the buyer authenticated another card (its return_url alone kept,
unseen, for the buyer still on the PSP's page: `NextAction.way_back`). Other fields change in
place.
No event: Stripe has none for a setup's update."""

from __future__ import annotations

from typing import Any

from paycore.errors import not_found
from paycore.payment.models import SetupChanges, SetupIntent, SetupStatus
from paycore.payment.setup.flow import SetupFlow
from paycore.payment.setup.machine import UPDATABLE, require
from paycore.payment.setup.repository import SetupRepository
from paycore.runtime.mutations import Phases
from sqlalchemy.ext.asyncio import AsyncConnection


async def prepare(
    flow: SetupFlow, merchant_id: str, setup: SetupIntent, changes: SetupChanges
) -> Phases[SetupIntent]:
    """`setup` as read before the transaction; the card is read here, outside it, as create
    reads it, and checked again against the setup as locked (its customer may have changed)."""
    require(setup, "update", UPDATABLE)
    read = _card_check(setup, changes)
    card = None if read[0] is None else await flow.card(merchant_id, read[0], read[1])

    async def change(connection: AsyncConnection) -> SetupIntent:
        repository = SetupRepository(connection)
        locked = await repository.get(merchant_id, setup.id, lock=True)
        if locked is None:
            raise not_found("setup_intent", setup.id)
        require(locked, "update", UPDATABLE)
        now = _card_check(locked, changes)
        checked = card
        if now != read and now[0] is not None:
            checked = await flow.card(merchant_id, now[0], now[1])
        values = _changed(locked, changes)
        if checked is not None and changes.payment_method_id is not None:
            await flow.cards.save_test_card(connection, merchant_id, checked)
            values["payment_method_id"] = checked.payment_method_id
            if locked.status is not SetupStatus.REQUIRES_CONFIRMATION:
                waiting = locked.next_action
                kept = None if waiting is None else waiting.way_back()
                return await repository.move(
                    locked, SetupStatus.REQUIRES_CONFIRMATION, next_action=kept, **values
                )
        if not values:
            return locked
        return await repository.change(locked, **values)

    return Phases(change)


def _card_check(setup: SetupIntent, changes: SetupChanges) -> tuple[str | None, str | None]:
    """The payment method to check and the customer it must belong to, on `setup` with the
    changes: a new customer is checked against the setup's own payment method too."""
    method = changes.payment_method_id or (setup.payment_method_id if changes.customer_id else None)
    return method, changes.customer_id or setup.customer_id


def _changed(setup: SetupIntent, changes: SetupChanges) -> dict[str, Any]:
    """The fields the changes set (payment_method_id aside: the caller sets it)."""
    values: dict[str, Any] = {}
    for name in ("description", "customer_id"):
        value = getattr(changes, name)
        if value is not None and value != getattr(setup, name):
            values[name] = value
    if changes.metadata:
        metadata = changes.metadata.applied_to(setup.metadata)
        if metadata != setup.metadata:
            values["metadata"] = metadata
    return values
