"""UpdatePaymentIntent: Stripe's update of an intent not yet confirmed, in one transaction;
what annotates the payment (description, metadata, receipt_email) changes in any status, as
Stripe's does (a merchant tags an order after it was paid or canceled). A payment method given
(an id, or a test payment method's name saved as a new one, as create saves it) moves
requires_payment_method to requires_confirmation. In requires_action (3-D Secure), another
payment method, amount or currency moves it back to requires_confirmation without its
next_action, as Stripe does: the buyer's authentication was for what it was, so the next
confirmation asks afresh (the confirmation's return_url alone is kept, unseen, for the buyer
already on the authentication page: `NextAction.way_back`); other fields change as in
requires_confirmation. No event: Stripe has none for an intent's update (paycore.events.types)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from paycore import validation
from paycore.currency.service import Currencies
from paycore.errors import invalid, not_found
from paycore.payment.intents.flow import IntentFlow
from paycore.payment.machine import UPDATABLE, require
from paycore.payment.models import Intent, IntentChanges, IntentStatus
from paycore.payment.repository import PayInRepository
from paycore.runtime.mutations import Phases
from sqlalchemy.ext.asyncio import AsyncConnection


async def prepare(
    flow: IntentFlow,
    currencies: Currencies,
    merchant_id: str,
    intent: Intent,
    changes: IntentChanges,
) -> Phases[Intent]:
    """`intent` as read before the transaction; the card is read here, outside the
    transaction, as create reads it. What depends on the intent's state (its status, the
    amount and currency it would have, the customer its payment method must belong to) is
    checked on the intent as locked, in the transaction that writes: an update or a
    confirmation that committed after the read is what the change is judged against, never
    the stale read."""
    updatable = _updatable_for(changes)
    require(intent, "update", updatable)
    read = _card_check(intent, changes)
    card = await flow.card(merchant_id, *read)

    async def change(connection: AsyncConnection) -> Intent:
        repository = PayInRepository(connection)
        locked = await repository.intent(merchant_id, intent.id, lock=True)
        if locked is None:
            raise not_found("payment_intent", intent.id)
        require(locked, "update", updatable)
        await _check_amount(currencies, connection, locked, changes)
        now = _card_check(locked, changes)
        checked = card if now == read else await flow.card(merchant_id, *now)
        values = _changed(locked, changes)
        if checked is not None and changes.payment_method_id is not None:
            await flow.cards.save_test_card(connection, merchant_id, checked)
            values["payment_method_id"] = checked.payment_method_id
            if locked.status is IntentStatus.REQUIRES_PAYMENT_METHOD:
                status = IntentStatus.REQUIRES_CONFIRMATION
                return await repository.move_intent(locked, status, **values)
        if locked.status is IntentStatus.REQUIRES_ACTION and _REAUTHENTICATE & values.keys():
            kept = None if locked.next_action is None else locked.next_action.way_back()
            return await repository.move_intent(
                locked,
                IntentStatus.REQUIRES_CONFIRMATION,
                next_action=None if kept is None else kept.to_json(),
                **values,
            )
        if not values:
            return locked
        return await repository.update_intent(locked, **values)

    return Phases(change)


# What annotates a payment rather than being it: Stripe changes these in every status.
_ANNOTATIONS = frozenset({"description", "metadata", "receipt_email"})


def _updatable_for(changes: IntentChanges) -> frozenset[IntentStatus]:
    """The statuses an intent may be in for `changes`: any, when they only annotate it."""
    unchanged = IntentChanges()
    if all(
        getattr(changes, each.name) == getattr(unchanged, each.name)
        for each in fields(changes)
        if each.name not in _ANNOTATIONS
    ):
        return frozenset(IntentStatus)
    return UPDATABLE


# What an authentication (3-D Secure) was for: changing one needs the buyer to authenticate again.
_REAUTHENTICATE = frozenset({"payment_method_id", "amount", "currency"})


def _card_check(intent: Intent, changes: IntentChanges) -> tuple[str | None, str | None]:
    """The payment method to check and the customer it must belong to, on `intent` with the
    changes: a new customer is checked against the intent's own payment method too."""
    method = changes.payment_method_id or (
        intent.payment_method_id if changes.customer_id else None
    )
    return method, changes.customer_id or intent.customer_id


async def _check_amount(
    currencies: Currencies, connection: AsyncConnection, intent: Intent, changes: IntentChanges
) -> None:
    """What create checks, of the amount and currency `intent` would have with the changes:
    the currency's rule and a conversion's fresh rate (naming `amount` when one is given, else
    `currency`; a destination's share crossing into its seller's settlement currency naming
    `currency`), and an amount not below the intent's application fee."""
    if changes.amount is None and changes.currency is None:
        return
    currency = changes.currency or intent.currency
    amount = intent.amount if changes.amount is None else changes.amount
    params = ("amount" if changes.amount is not None else "currency", "currency")
    validation.amount(params[0], amount, currency)
    if amount < intent.application_fee_amount:
        raise invalid("amount", "must be at least the application_fee_amount")
    await currencies.check_charge_in(connection, intent.merchant_id, "", amount, currency, params)
    if intent.transfer_destination:
        await currencies.check_destination_in(
            connection, intent.merchant_id, intent.transfer_destination, currency, "currency"
        )


def _changed(intent: Intent, changes: IntentChanges) -> dict[str, Any]:
    """The columns the changes set (payment_method_id aside: the caller sets it)."""
    values: dict[str, Any] = {}
    for column in ("amount", "currency", "customer_id", "description", "receipt_email"):
        value = getattr(changes, column)
        if value is not None and value != getattr(intent, column):
            values[column] = value
    if changes.capture_method is not None and changes.capture_method is not intent.capture_method:
        values["capture_method"] = changes.capture_method.value
    usage = changes.setup_future_usage
    if usage is not None and usage is not intent.setup_future_usage:
        values["setup_future_usage"] = usage.value
    if changes.clear_setup_future_usage and intent.setup_future_usage is not None:
        values["setup_future_usage"] = None
    group = changes.transfer_group
    if group is not None and group != intent.transfer_group:
        if intent.transfer_group:  # Stripe's rule: only set while the intent has none
            raise invalid("transfer_group", "the intent has one already: it cannot change")
        values["transfer_group"] = group
    if changes.metadata:
        metadata = changes.metadata.applied_to(intent.metadata)
        if metadata != intent.metadata:
            values["metadata"] = metadata
    return values
