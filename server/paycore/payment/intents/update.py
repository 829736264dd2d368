"""UpdatePaymentIntent: Stripe's update of an intent not yet confirmed, in one transaction.
A payment method given (an id, or a test payment method's name saved as a new one, as create
saves it) moves requires_payment_method to requires_confirmation. No event: Stripe has none
for an intent's update (paycore.events.types)."""

from __future__ import annotations

from typing import Any

from paycore.errors import not_found
from paycore.payment.intents.flow import IntentFlow
from paycore.payment.machine import UPDATABLE, require
from paycore.payment.models import Intent, IntentChanges, IntentStatus
from paycore.payment.repository import PayInRepository
from paycore.runtime.mutations import Phases
from sqlalchemy.ext.asyncio import AsyncConnection


async def prepare(
    flow: IntentFlow, merchant_id: str, intent: Intent, changes: IntentChanges
) -> Phases[Intent]:
    """`intent` as read before the transaction (the request's checks saw it); the card is read
    here, outside the transaction, as create reads it."""
    require(intent, "update", UPDATABLE)
    customer_id = changes.customer_id or intent.customer_id
    # A new customer is checked against the intent's own payment method too.
    method = changes.payment_method_id or (
        intent.payment_method_id if changes.customer_id else None
    )
    card = await flow.card(merchant_id, method, customer_id)

    async def change(connection: AsyncConnection) -> Intent:
        repository = PayInRepository(connection)
        locked = await repository.intent(merchant_id, intent.id, lock=True)
        if locked is None:
            raise not_found("payment_intent", intent.id)
        require(locked, "update", UPDATABLE)
        values = _changed(locked, changes)
        if card is not None and changes.payment_method_id is not None:
            await flow.cards.save_test_card(connection, merchant_id, card)
            values["payment_method_id"] = card.payment_method_id
            if locked.status is IntentStatus.REQUIRES_PAYMENT_METHOD:
                status = IntentStatus.REQUIRES_CONFIRMATION
                return await repository.move_intent(locked, status, **values)
        if not values:
            return locked
        return await repository.update_intent(locked, **values)

    return Phases(change)


def _changed(intent: Intent, changes: IntentChanges) -> dict[str, Any]:
    """The columns the changes set (payment_method_id aside: the caller sets it)."""
    values: dict[str, Any] = {}
    for column in ("amount", "currency", "customer_id", "description"):
        value = getattr(changes, column)
        if value is not None and value != getattr(intent, column):
            values[column] = value
    if changes.capture_method is not None and changes.capture_method is not intent.capture_method:
        values["capture_method"] = changes.capture_method.value
    if changes.metadata:
        metadata = changes.metadata.applied_to(intent.metadata)
        if metadata != intent.metadata:
            values["metadata"] = metadata
    return values
