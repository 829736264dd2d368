"""3-D Secure finished as Stripe's: once the buyer answered the PSP's authentication page, the
payment intent (or SetupIntent) that waited for them in `requires_action` goes on by itself,
whether or not they ever come back to the return_url.

The PSP tells paycore through its authentications feed (`GET /v1/authentication_events`, read
as the disputes feed is: the position leased on the home shard, `read_feed`), and the worker's
`authentication_feed` job applies each answer once (`apply`). Applying it is the confirmation
again, the same phases ConfirmPaymentIntent (ConfirmSetupIntent) runs
(intents.confirm.confirmation, setup.confirm.confirmation): the fraud score, then one
transaction that locks the intent and moves it `requires_action -> processing` with a charge
that names the authentication, then the executor outside any transaction. The first phase
goes on only while the locked intent still waits for that very authentication (`waits_for`),
so the feed read twice, a merchant's own confirmation and a buyer's return racing it make one
charge: whichever locks the intent first moves it on, the others find it moved and change
nothing (a merchant's confirmation of a moved intent answers payment_intent_unexpected_state,
as Stripe's of a succeeded one). The PSP still lets one operation through per authentication
(`authentication_used`), and the charge's key is its execution's id, so a lost answer is
resolved by a status query as any charge's.

The buyer's own return goes through paycore too, so that the merchant's return page finds the
intent moved on, as Stripe's does: the return_url the PSP is given (`ReturnRoute`, the
executor's `returns`) is the edge's `/3ds/return` with the merchant, the object and its
client_secret in its query; ReturnFromAuthentication (`returned_intent`, `returned_setup`)
finishes the object when the PSP says its buyer answered, and the edge then sends the buyer on
to the merchant's return_url with Stripe's query (`back_to_merchant`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from paycore.currency.service import Currencies
from paycore.dispute.feeds import FEED_BATCH_MAX, read_feed
from paycore.errors import ApiError
from paycore.ids import Prefix
from paycore.payment.client_secrets import ClientSecrets
from paycore.payment.intents.confirm import confirmation as intent_confirmation
from paycore.payment.intents.flow import IntentFlow
from paycore.payment.models import (
    ON_SESSION,
    Intent,
    IntentStatus,
    NextAction,
    SetupIntent,
    SetupStatus,
)
from paycore.payment.setup.confirm import confirmation as setup_confirmation
from paycore.payment.setup.flow import SetupFlow
from paycore.psp.client import PspAuthentication, PspClient, PspError
from paycore.runtime.mutations import FinalAnswer
from paycore.storage import Shards
from paycore.worker.job import ShardJob
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
RETURN_PATH = "/3ds/return"
"""The edge's route the PSP's authentication page sends the buyer back to."""
FEED_SUFFIX = "#authentications"
"""The feed's position is kept beside the disputes feed's, named by the PSP's URL and this."""


def waits_for(next_action: NextAction | None, waiting: bool, authentication_id: str) -> bool:
    """Whether an intent or setup still waits for the buyer's answer to this authentication."""
    return waiting and next_action is not None and next_action.authentication == authentication_id


def intent_waits(authentication_id: str) -> Callable[[Intent], bool]:
    def admit(intent: Intent) -> bool:
        waiting = intent.status is IntentStatus.REQUIRES_ACTION
        return waits_for(intent.next_action, waiting, authentication_id)

    return admit


def setup_waits(authentication_id: str) -> Callable[[SetupIntent], bool]:
    def admit(setup: SetupIntent) -> bool:
        waiting = setup.status is SetupStatus.REQUIRES_ACTION
        return waits_for(setup.next_action, waiting, authentication_id)

    return admit


def with_query(url: str, added: dict[str, str]) -> str:
    """`url` with `added` after its own query (kept as given)."""
    parts = urlsplit(url)
    encoded = urlencode(added)
    query = f"{parts.query}&{encoded}" if parts.query else encoded
    return urlunsplit(parts._replace(query=query))


@dataclass(frozen=True, slots=True)
class ReturnRoute:
    """The return_url the PSP's authentication page sends the buyer to: paycore's own
    (`<PAYCORE_CHECKOUT_URL>/3ds/return?merchant=...&payment_intent=...&
    payment_intent_client_secret=...`) when the confirmation named a return_url of the
    merchant's; "" stays "" (the page then shows the outcome and stays)."""

    _pages_url: str
    _client_secrets: ClientSecrets

    def __call__(self, merchant_id: str, return_url: str, name: str, object_id: str) -> str:
        if not return_url or not object_id:
            return return_url
        secret = self._client_secrets.of(merchant_id, object_id)
        base = self._pages_url.rstrip("/") + RETURN_PATH
        return with_query(
            base, {"merchant": merchant_id, name: object_id, f"{name}_client_secret": secret}
        )


def redirect_status(status: IntentStatus | SetupStatus) -> str:
    """Stripe's `redirect_status` of an intent or setup its buyer returns to."""
    if status.value in ("succeeded", "requires_capture"):
        return "succeeded"
    return "processing" if status.value == "processing" else "failed"


def back_to_merchant(
    next_action: NextAction | None, name: str, object_id: str, client_secret: str, status: str
) -> str:
    """The confirmation's return_url with Stripe's query: `payment_intent` (`setup_intent`),
    its client secret and `redirect_status`; "" when it named none."""
    if next_action is None or not next_action.return_url:
        return ""
    added = {name: object_id, f"{name}_client_secret": client_secret, "redirect_status": status}
    return with_query(next_action.return_url, added)


@dataclass(frozen=True, slots=True)
class Authentications:
    _shards: Shards
    _psp: PspClient
    _intents: IntentFlow
    _setups: SetupFlow
    _currencies: Currencies
    _clock: Callable[[], float] = time.time

    async def finish_intent(
        self, merchant_id: str, intent_id: str, authentication_id: str
    ) -> Intent:
        """The intent confirmed with the buyer's authentication, as it then stands (unchanged
        when it no longer waits for that authentication)."""
        intent = await self._intents.get(merchant_id, intent_id)
        admit = intent_waits(authentication_id)
        if not admit(intent):
            return intent
        phases, first_phase = await intent_confirmation(
            self._intents, self._currencies, intent, "", "", ON_SESSION, admit
        )
        async with self._shards.transaction(merchant_id) as connection:
            recorded = await phases.record(connection)
        if first_phase.intent is None or phases.complete is None:
            return recorded  # moved on by someone else meanwhile
        return await phases.complete(intent_id, FinalAnswer.unstored())

    async def finish_setup(
        self, merchant_id: str, setup_id: str, authentication_id: str
    ) -> SetupIntent:
        """The setup confirmed with the buyer's authentication, as `finish_intent`."""
        setup = await self._setups.get(merchant_id, setup_id)
        admit = setup_waits(authentication_id)
        if not admit(setup):
            return setup
        phases, first_phase = await setup_confirmation(self._setups, setup, "", "", admit)
        async with self._shards.transaction(merchant_id) as connection:
            recorded = await phases.record(connection)
        if first_phase.setup is None or phases.complete is None:
            return recorded
        return await phases.complete(setup_id, FinalAnswer.unstored())

    async def returned_intent(self, merchant_id: str, intent_id: str) -> Intent:
        """The buyer back from the authentication page: the intent finished with their answer
        if it waits for it and the PSP has it (else as it stands: the feed finishes it later)."""
        intent = await self._intents.get(merchant_id, intent_id)
        waiting = intent.next_action
        if intent.status is not IntentStatus.REQUIRES_ACTION or waiting is None:
            return intent
        if not await self._answered(waiting.authentication):
            return intent
        return await self.finish_intent(merchant_id, intent_id, waiting.authentication)

    async def returned_setup(self, merchant_id: str, setup_id: str) -> SetupIntent:
        """As `returned_intent`, for a SetupIntent."""
        setup = await self._setups.get(merchant_id, setup_id)
        waiting = setup.next_action
        if setup.status is not SetupStatus.REQUIRES_ACTION or waiting is None:
            return setup
        if not await self._answered(waiting.authentication):
            return setup
        return await self.finish_setup(merchant_id, setup_id, waiting.authentication)

    async def _answered(self, authentication_id: str) -> bool:
        """Whether the buyer answered (a return without an answer, or a visitor who only has
        the link, makes no charge attempt)."""
        try:
            return await self._psp.authentication_status(authentication_id) != "pending"
        except PspError as error:
            log.warning("authentication %s: no status (%s)", authentication_id, error.code)
            return False

    async def apply(self, authentication: PspAuthentication) -> None:
        """One answer of the feed: finishes the intent or setup it was asked for (a reference
        that is not paycore's, or an object that no longer waits for it, changes nothing)."""
        merchant, reference = authentication.merchant, authentication.reference
        if not merchant.startswith(f"{Prefix.ACCOUNT}_"):
            return
        try:
            if authentication.operation == "charge" and reference.startswith("pi_"):
                await self.finish_intent(merchant, reference, authentication.id)
            elif authentication.operation == "setup" and reference.startswith("seti_"):
                await self.finish_setup(merchant, reference, authentication.id)
        except ApiError as error:  # gone, or refused (a stale rate): the merchant may confirm
            log.warning(
                "authentication %s of %s: not applied (%s)", authentication.id, reference, error
            )

    async def read_feed(self, home: AsyncEngine, limit: int = FEED_BATCH_MAX) -> int:
        """One batch of the PSP's authentications feed, each answer applied (applying one twice
        changes nothing): the position is leased on the home shard."""
        return await read_feed(
            home,
            self._psp.base_url + FEED_SUFFIX,
            int(self._clock()),
            lambda after: self._psp.authentication_events(after, limit),
            lambda event: self.apply(event.authentication),
            lambda event: event.sequence,
        )


def authentication_feed(authentications: Authentications, shards: Shards) -> ShardJob:
    """The worker's `authentication_feed` job: on the home shard (where the feed's position
    lives), one batch of the PSP's authentications feed, each answer applied."""

    async def run(engine: AsyncEngine) -> int:
        if engine is not shards.home:
            return 0
        return await authentications.read_feed(engine)

    return ShardJob("authentication_feed", 2.0, run)
