"""What every intent operation shares: its collaborators, the reads, the executions."""

from __future__ import annotations

from dataclasses import dataclass, replace

from paycore.customer.models import ChargeableCard
from paycore.customer.repository import CUSTOMERS
from paycore.executor.models import Execution, NewExecution, Operation
from paycore.executor.service import Executor
from paycore.fraud.service import FraudService
from paycore.payment.events import PayInEvents
from paycore.payment.models import (
    FRAUD_SUSPECTED,
    ON_SESSION,
    Intent,
    IntentStatus,
    PaymentError,
    Presence,
)
from paycore.payment.payer import PayerCards, payer_card
from paycore.payment.repository import PAYMENT_INTENTS, intents_query, intents_search
from paycore.search import SearchQuery
from paycore.storage.reads import Cursor, Named, Page, Reads

FRAUD_BLOCKED = PaymentError(
    code=FRAUD_SUSPECTED,
    decline_code="fraudulent",
    message="The payment was blocked as likely fraudulent.",
)


@dataclass(frozen=True)
class IntentFlow:
    reads: Reads
    executor: Executor
    cards: PayerCards
    fraud: FraudService
    events: PayInEvents

    async def get(self, merchant_id: str, intent_id: str) -> Intent:
        return await self.reads.one(merchant_id, PAYMENT_INTENTS, intent_id)

    async def list(
        self,
        merchant_id: str,
        cursor: Cursor,
        customer_id: str,
        status: IntentStatus | None = None,
    ) -> Page[Intent]:
        query = intents_query(merchant_id, customer_id, status)
        named = [Named("customer", CUSTOMERS, customer_id)]
        return await self.reads.page(merchant_id, PAYMENT_INTENTS, cursor, query, named)

    async def search(self, merchant_id: str, cursor: Cursor, query: SearchQuery) -> Page[Intent]:
        listed = intents_search(merchant_id, query)
        return await self.reads.page(merchant_id, PAYMENT_INTENTS, cursor, listed)

    async def card(
        self, merchant_id: str, payment_method_id: str | None, customer_id: str | None
    ) -> ChargeableCard | None:
        if not payment_method_id:
            return None
        return await payer_card(self.cards, merchant_id, payment_method_id, customer_id)


@dataclass
class FirstPhase:
    """What a request's first phase made, for its own completion: the intent as committed and
    its execution as claimed (enqueue_claimed), beside the card the request read."""

    card: ChargeableCard | None
    intent: Intent | None = None
    execution: Execution | None = None


def charge_execution(
    intent: Intent, payment_method_id: str, presence: Presence = ON_SESSION
) -> NewExecution:
    """The confirmation's charge (or authorization); with the buyer's authentication when the
    intent asked for one of this payment method (3-D Secure: confirmed again after
    requires_action), so that the PSP goes on with it instead of asking again."""
    operation = Operation.CHARGE if intent.capture_method.at_once else Operation.AUTHORIZE
    metadata = presence.metadata()
    waiting = intent.next_action
    if (
        waiting is not None
        and intent.status is IntentStatus.REQUIRES_ACTION
        and payment_method_id == intent.payment_method_id
    ):
        metadata["authentication"] = waiting.authentication
        metadata["return_url"] = presence.return_url or waiting.return_url
    if intent.setup_future_usage is not None:
        # The PSP remembers a card authenticated for it, as for a SetupIntent (3-D Secure).
        metadata["setup_future_usage"] = intent.setup_future_usage.value
    execution = execution_of(intent, operation, intent.amount, payment_method_id)
    return replace(execution, metadata=metadata)


def execution_of(
    intent: Intent, operation: Operation, amount: int, payment_method_id: str | None = None
) -> NewExecution:
    # The execution's own id is the PSP's idempotency key (a new confirmation after a
    # decline is a new charge; every retry of one execution is the same charge).
    return NewExecution(
        merchant_id=intent.merchant_id,
        operation=operation,
        amount=amount,
        currency=intent.currency,
        psp_key="",
        payment_intent_id=intent.id,
        payment_method_id=payment_method_id,
        psp_charge=intent.psp_charge,
    )
