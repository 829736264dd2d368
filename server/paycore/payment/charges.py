"""Stripe's Charges: each PSP attempt of a payment intent that the PSP named ("ch_..."),
derived from what paycore stores of it (paycore.payment.repository.CHARGES: the executor's
execution, the intent, its card, refunds, dispute and balance transaction), and what
UpdateCharge set of it (`charge_details`: its description, metadata, receipt_email and
shipping, each the charge's own once set, its intent's until then).

An intent's latest charge (`Intent.psp_charge`) carries the intent's money: what it captured,
refunded and the refunds; its earlier attempts (declined, before a new confirmation) show what
the PSP answered them."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.customer.repository import CUSTOMERS
from paycore.errors import not_found
from paycore.events import Recorder
from paycore.executor.models import ExecutionState
from paycore.payment import events
from paycore.payment.models import (
    OWN_DECLINE_CODES,
    Charge,
    ChargeAttempt,
    ChargeChanges,
    ChargeDetails,
    ChargeOutcome,
    ChargeStatus,
    Intent,
    IntentStatus,
    PaymentMethodDetails,
)
from paycore.payment.repository import (
    CHARGES,
    PAYMENT_INTENTS,
    PayInRepository,
    application_fee_id,
    charge_position_query,
    charge_query,
    charges_query,
    charges_search,
)
from paycore.search import SearchQuery
from paycore.storage.reads import Cursor, Named, Page, Reads
from sqlalchemy.ext.asyncio import AsyncConnection

_RISK_LEVELS = {"allow": "normal", "review": "elevated", "block": "highest"}
_APPROVED = "Payment complete."
_DECLINED = "The bank did not return any further details with this decline."


@dataclass(frozen=True, slots=True)
class Charges:
    _reads: Reads
    _events: Recorder[Charge]

    async def get(self, merchant_id: str, charge_id: str, param: str = "id") -> Charge:
        """NOT_FOUND naming `param` (RESOURCE_MISSING) when the merchant has no such charge."""

        async def lookup(connection: AsyncConnection) -> ChargeAttempt | None:
            rows = (await connection.execute(charge_query(merchant_id, charge_id))).all()
            found = await CHARGES.objects(connection, rows)
            return found[0] if found else None

        return charge_of(await self._reads.find(merchant_id, lookup, "charge", charge_id, param))

    async def list(
        self,
        merchant_id: str,
        cursor: Cursor,
        intent_id: str,
        customer_id: str,
        transfer_group: str = "",
    ) -> Page[Charge]:
        """The merchant's charges newest first, of one intent or customer or transfer group if
        given (an intent or customer RESOURCE_MISSING naming its filter when the merchant has
        no such object)."""
        query = charges_query(merchant_id, intent_id, customer_id, transfer_group)
        named = [
            Named("payment_intent", PAYMENT_INTENTS, intent_id),
            Named("customer", CUSTOMERS, customer_id),
        ]
        positioned = await self._positioned(merchant_id, cursor)
        page = await self._reads.page(merchant_id, CHARGES, positioned, query, named)
        return Page([charge_of(attempt) for attempt in page.data], page.has_more)

    async def search(self, merchant_id: str, cursor: Cursor, query: SearchQuery) -> Page[Charge]:
        """The merchant's charges that `query` finds, newest first; the cursor's `starting_after`
        the previous page's last charge (RESOURCE_MISSING naming `page` when it has none)."""
        positioned = await self._positioned(merchant_id, cursor, "page")
        page = await self._reads.page(
            merchant_id, CHARGES, positioned, charges_search(merchant_id, query)
        )
        return Page([charge_of(attempt) for attempt in page.data], page.has_more)

    async def update(
        self, connection: AsyncConnection, merchant_id: str, charge_id: str, changes: ChargeChanges
    ) -> Charge:
        """UpdateCharge, under its intent's lock (the one every change of the charge takes:
        its completion, capture, refunds), so that two updates merge their metadata in turn;
        charge.updated when something changed."""
        found = await attempt_of(connection, merchant_id, charge_id)
        await PayInRepository(connection).intent(merchant_id, found.intent.id, lock=True)
        before = await attempt_of(connection, merchant_id, charge_id)
        shown = charge_of(before)
        details = _changed(before.details, shown, changes)
        if details == before.details:
            return shown
        await PayInRepository(connection).set_charge_details(merchant_id, charge_id, details)
        updated = charge_of(await attempt_of(connection, merchant_id, charge_id))
        if updated != shown:
            await self._events.record(connection, events.CHARGE_UPDATED, updated, before=shown)
        return updated

    async def _positioned(
        self, merchant_id: str, cursor: Cursor, param: str | None = None
    ) -> Cursor:
        """The cursor with its charge id replaced by the execution id the charges sort by (a
        PSP id carries no time): RESOURCE_MISSING naming the cursor when the merchant has no
        such charge, since a ch_ id has no place of its own to sort at."""
        if param is None:
            param = "ending_before" if cursor.ending_before else "starting_after"
        charge_id = cursor.ending_before or cursor.starting_after
        if not charge_id:
            return cursor

        async def lookup(connection: AsyncConnection) -> str | None:
            query = charge_position_query(merchant_id, charge_id)
            found = (await connection.execute(query)).scalar_one_or_none()
            return None if found is None else str(found)

        position = await self._reads.find(merchant_id, lookup, "charge", charge_id, param)
        if cursor.ending_before:
            return Cursor(cursor.limit, ending_before=position, created=cursor.created)
        return Cursor(cursor.limit, starting_after=position, created=cursor.created)


async def attempt_of(
    connection: AsyncConnection, merchant_id: str, charge_id: str
) -> ChargeAttempt:
    """The charge's attempt with its refunds, on `connection` (RESOURCE_MISSING naming `id`)."""
    rows = (await connection.execute(charge_query(merchant_id, charge_id))).all()
    found = await CHARGES.objects(connection, rows)
    if not found:
        raise not_found("charge", charge_id)
    return found[0]


def _changed(details: ChargeDetails, shown: Charge, changes: ChargeChanges) -> ChargeDetails:
    """The charge's own fields after `changes`: metadata merged into the metadata it shows."""
    metadata = details.metadata
    if changes.metadata:
        metadata = changes.metadata.applied_to(shown.metadata)
    return ChargeDetails(
        description=details.description if changes.description is None else changes.description,
        metadata=metadata,
        receipt_email=details.receipt_email
        if changes.receipt_email is None
        else changes.receipt_email,
        shipping=details.shipping if changes.shipping is None else changes.shipping,
    )


def charge_of(attempt: ChargeAttempt) -> Charge:
    """The Charge an attempt is: its status from the execution's, its money from the intent
    when it is the intent's latest charge."""
    intent = attempt.intent
    status = (
        ChargeStatus.SUCCEEDED
        if attempt.state == ExecutionState.SUCCEEDED
        else ChargeStatus.FAILED
        if attempt.state == ExecutionState.FAILED
        else ChargeStatus.PENDING
    )
    latest = attempt.id == intent.psp_charge and status is ChargeStatus.SUCCEEDED
    captured_amount = intent.amount_received if latest else 0
    refunded_amount = intent.amount_refunded if latest else 0
    if latest and intent.status is IntentStatus.CANCELED and not captured_amount:
        refunded_amount = attempt.amount  # an authorization voided: Stripe refunds it all
    failure_code, failure_message = _failure(attempt, status)
    own = attempt.details
    return Charge(
        id=attempt.id,
        merchant_id=attempt.merchant_id,
        created=attempt.created,
        amount=attempt.amount,
        amount_captured=captured_amount,
        amount_refunded=refunded_amount,
        currency=attempt.currency,
        captured=captured_amount > 0,
        paid=status is ChargeStatus.SUCCEEDED,
        refunded=refunded_amount > 0 and refunded_amount >= (captured_amount or attempt.amount),
        status=status,
        payment_intent_id=intent.id,
        customer_id=intent.customer_id,
        payment_method_id=attempt.payment_method_id,
        payment_method_details=None if attempt.card is None else PaymentMethodDetails(attempt.card),
        balance_transaction_id=attempt.balance_transaction_id if captured_amount else None,
        outcome=_outcome(attempt, status),
        failure_code=failure_code,
        failure_message=failure_message,
        disputed=intent.disputed and attempt.id == intent.psp_charge,
        dispute_id=attempt.dispute_id,
        metadata=intent.metadata if own.metadata is None else own.metadata,
        description=intent.description if own.description is None else own.description,
        application_fee_amount=intent.application_fee_amount,
        transfer_destination=intent.transfer_destination,
        refunds=attempt.refunds,
        receipt_email=intent.receipt_email if own.receipt_email is None else own.receipt_email,
        transfer_group=intent.transfer_group,
        shipping=own.shipping,
        application_fee_id=_fee_of(intent) if latest else None,
    )


def _fee_of(intent: Intent) -> str | None:
    """The fee the application fees' view has for a succeeded intent (the same rule)."""
    has_fee = intent.transfer_destination and intent.application_fee_amount > 0
    if intent.status is IntentStatus.SUCCEEDED and has_fee:
        return application_fee_id(intent.id)
    return None


def _failure(attempt: ChargeAttempt, status: ChargeStatus) -> tuple[str, str]:
    """(failure_code, failure_message) of a failed charge, as its intent's last_payment_error
    named them (lowercase); ("", "") otherwise."""
    if status is not ChargeStatus.FAILED:
        return "", ""
    if attempt.decline_code:
        code = OWN_DECLINE_CODES.get(attempt.decline_code, "CARD_DECLINED").lower()
        return code, attempt.psp_message or "The card was declined."
    message = attempt.failure_message or "The payment could not be processed."
    return attempt.failure_code or "processing_error", message


def _outcome(attempt: ChargeAttempt, status: ChargeStatus) -> ChargeOutcome | None:
    if status is ChargeStatus.PENDING:
        return None
    risk = attempt.intent.risk
    level = "not_assessed" if risk is None else _RISK_LEVELS.get(risk.decision, "normal")
    score = 0 if risk is None else risk.score // 10
    if status is ChargeStatus.SUCCEEDED:
        held = risk is not None and risk.held
        return ChargeOutcome(
            type="manual_review" if held else "authorized",
            network_status="approved_by_network",
            risk_level=level,
            risk_score=score,
            seller_message=_APPROVED,
            reason="",
        )
    declined = bool(attempt.decline_code)
    return ChargeOutcome(
        type="issuer_declined" if declined else "invalid",
        network_status="declined_by_network" if declined else "not_sent_to_network",
        risk_level=level,
        risk_score=score,
        seller_message=_DECLINED if declined else attempt.failure_message,
        reason=attempt.decline_code,
    )
