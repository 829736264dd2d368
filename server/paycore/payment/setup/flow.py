"""What every SetupIntent operation shares: its collaborators, the reads, the verification's
execution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from paycore.customer.models import ChargeableCard, PaymentMethod
from paycore.customer.repository import CUSTOMERS
from paycore.events import Recorder
from paycore.executor.models import Execution, NewExecution, Operation
from paycore.executor.service import Executor
from paycore.payment.models import SetupIntent, SetupStatus
from paycore.payment.payer import PayerCards, payer_card
from paycore.payment.setup.repository import SETUP_INTENTS, setups_query
from paycore.storage.reads import Cursor, Named, Page, Reads
from sqlalchemy.ext.asyncio import AsyncConnection

VERIFICATION_CURRENCY = "usd"
"""The currency the verification's execution row names: it moves no money (amount 0)."""


class SetupCards(PayerCards, Protocol):
    async def save_for_setup(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        payment_method_id: str,
        customer_id: str | None,
        usage: str,
        network_token: str,
    ) -> PaymentMethod:
        """The card attached to the customer and saved for `usage` (customer's service)."""


@dataclass(frozen=True)
class SetupFlow:
    reads: Reads
    executor: Executor
    cards: SetupCards
    events: Recorder[SetupIntent]

    async def get(self, merchant_id: str, setup_id: str) -> SetupIntent:
        return await self.reads.one(merchant_id, SETUP_INTENTS, setup_id)

    async def list(self, merchant_id: str, cursor: Cursor, customer_id: str) -> Page[SetupIntent]:
        query = setups_query(merchant_id, customer_id)
        named = [Named("customer", CUSTOMERS, customer_id)]
        return await self.reads.page(merchant_id, SETUP_INTENTS, cursor, query, named)

    async def card(
        self, merchant_id: str, payment_method_id: str, customer_id: str | None
    ) -> ChargeableCard:
        """The card to verify (a test payment method's name gives a new, unsaved one)."""
        return await payer_card(self.cards, merchant_id, payment_method_id, customer_id)


@dataclass
class FirstPhase:
    """What a request's first phase made, for its own completion: the setup as committed and
    its verification as claimed, beside the card the request read."""

    card: ChargeableCard | None
    return_url: str = ""
    """The confirmation's: where the authentication page (3-D Secure) sends the buyer back."""
    setup: SetupIntent | None = None
    execution: Execution | None = None


def verification_of(
    setup: SetupIntent, payment_method_id: str, return_url: str = ""
) -> NewExecution:
    """The confirmation's verification; with the buyer's authentication when the setup asked
    for one of this payment method (3-D Secure: confirmed again after requires_action), so
    that the PSP goes on with it instead of asking again."""
    # The execution's own id is the PSP's key: a confirmation after a decline verifies anew.
    metadata = {"setup_intent": setup.id}
    waiting = setup.next_action
    if (
        waiting is not None
        and setup.status is SetupStatus.REQUIRES_ACTION
        and payment_method_id == setup.payment_method_id
    ):
        metadata["authentication"] = waiting.authentication
        return_url = return_url or waiting.return_url
    if return_url:
        metadata["return_url"] = return_url
    return NewExecution(
        merchant_id=setup.merchant_id,
        operation=Operation.SETUP,
        amount=0,
        currency=VERIFICATION_CURRENCY,
        psp_key="",
        payment_method_id=payment_method_id,
        metadata=metadata,
    )
