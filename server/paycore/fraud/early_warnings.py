"""Early fraud warnings (Stripe's `radar.early_fraud_warning`): a card issuer's warning that a
charge may be fraudulent, before any dispute. The PSP lists them on its feed (`GET
/v1/early_fraud_warning_events?after=N`); the worker's `early_fraud_warning_feed` job reads it
on the home shard (the position leased as the disputes feed's), stores each warning of a
payment intent's charge once in its merchant's transaction and records
`radar.early_fraud_warning.created` with it. A warning's `actionable` (neither disputed nor
refunded in full) is read with it (docs/fraud.md, "Early fraud warnings")."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from paycore.dispute.feeds import FEED_BATCH_MAX, read_feed
from paycore.events import Recorder
from paycore.fraud.events import EARLY_FRAUD_WARNING_CREATED
from paycore.fraud.models import EarlyFraudWarning
from paycore.fraud.repository import (
    EARLY_FRAUD_WARNINGS,
    EarlyFraudWarningRepository,
    early_fraud_warnings_query,
)
from paycore.ids import Prefix, new_merchant_id
from paycore.psp.client import PspClient, PspEarlyFraudWarning
from paycore.storage import Shards
from paycore.storage.reads import Cursor, Page, Reads
from paycore.worker.job import ShardJob
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

FEED_SUFFIX = "#early_fraud_warnings"
"""The feed's row (`dispute_feeds`, named by the PSP's URL and this)."""


@dataclass(frozen=True, slots=True)
class EarlyFraudWarnings:
    """The merchant's warnings, as read."""

    _reads: Reads

    async def get(self, merchant_id: str, warning_id: str) -> EarlyFraudWarning:
        return await self._reads.one(merchant_id, EARLY_FRAUD_WARNINGS, warning_id)

    async def list(
        self, merchant_id: str, cursor: Cursor, charge: str, payment_intent: str
    ) -> Page[EarlyFraudWarning]:
        query = early_fraud_warnings_query(merchant_id, charge, payment_intent)
        return await self._reads.page(merchant_id, EARLY_FRAUD_WARNINGS, cursor, query)


@dataclass(frozen=True, slots=True)
class EarlyFraudWarningFeed:
    """The PSP's warnings, each stored (and its event recorded) once."""

    _shards: Shards
    _psp: PspClient
    _events: Recorder[EarlyFraudWarning]
    _clock: Callable[[], float] = time.time

    async def read_feed(self, home: AsyncEngine, limit: int = FEED_BATCH_MAX) -> int:
        """One batch of the feed, each warning applied (applying one twice changes nothing):
        the position is leased on the home shard."""
        return await read_feed(
            home,
            self._psp.base_url + FEED_SUFFIX,
            int(self._clock()),
            lambda after: self._psp.early_fraud_warning_events(after, limit),
            self.apply,
            lambda warning: warning.sequence,
        )

    async def apply(self, news: PspEarlyFraudWarning) -> None:
        """Stores the warning of a merchant's payment intent's charge (once), with its event;
        a warning of a charge paycore does not know as an intent's latest is logged and
        skipped."""
        if not news.merchant.startswith(f"{Prefix.ACCOUNT}_"):
            log.warning("early fraud warning %s: no merchant of paycore's; skipped", news.id)
            return
        async with self._shards.transaction(news.merchant) as connection:
            warnings = EarlyFraudWarningRepository(connection)
            intent = await warnings.charged_intent(news.merchant, news.reference, news.charge)
            if intent is None:
                log.warning("early fraud warning %s: no intent has its charge; skipped", news.id)
                return
            stored = await warnings.insert(
                EarlyFraudWarning(
                    id=new_merchant_id(Prefix.EARLY_FRAUD_WARNING, news.merchant),
                    merchant_id=news.merchant,
                    created=0,
                    psp_warning=news.id,
                    charge=news.charge,
                    payment_intent_id=intent,
                    fraud_type=news.fraud_type,
                )
            )
            if stored is not None:
                await self._events.record(connection, EARLY_FRAUD_WARNING_CREATED, stored)


def early_fraud_warning_feed(feed: EarlyFraudWarningFeed, shards: Shards) -> ShardJob:
    """The worker's `early_fraud_warning_feed` job: on the home shard (where the feed's
    position lives), one batch of the PSP's warnings."""

    async def run(engine: AsyncEngine) -> int:
        if engine is not shards.home:
            return 0
        return await feed.read_feed(engine)

    return ShardJob("early_fraud_warning_feed", 5.0, run)
