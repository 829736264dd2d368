"""The payout tracking job: asks the bank how each payout in transit (or recently paid) stands
and applies what changed: in_transit -> paid, -> failed, and a paid payout the bank returned
days later -> failed. A payout is looked at when it should have arrived, then once a day until
the return window after arrival has passed (paycore.payout.lifecycle).

Claiming leases each payout (its next check moves on), so workers side by side skip it; the
bank is asked outside any transaction; the answer is applied with the payout locked, and only
if its status is still the one asked about, so a late or repeated answer changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from paycore.payout.lifecycle import PayoutLifecycle
from paycore.payout.models import PayoutStatus
from paycore.payout.repository import PayoutRepository
from paycore.psp.client import BankPayoutState, PspClient, PspError
from paycore.storage import Shards
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)
CHECKS_PER_RUN_MAX = 100
CHECK_LEASE_SECONDS = 300


@dataclass(frozen=True, slots=True)
class PayoutTracker:
    _shards: Shards
    _psp: PspClient
    _lifecycle: PayoutLifecycle

    async def run(self, engine: AsyncEngine, limit: int = CHECKS_PER_RUN_MAX) -> int:
        async with engine.begin() as connection:
            claimed = await PayoutRepository(connection).claim_checks(
                self._lifecycle.now(), limit, CHECK_LEASE_SECONDS
            )
        await asyncio.gather(*(self._check(merchant, payout) for merchant, payout in claimed))
        return len(claimed)

    async def _check(self, merchant_id: str, payout_id: str) -> None:
        try:
            state = await self._psp.bank_payout(payout_id)
        except PspError as error:
            log.warning("payout %s: the bank did not answer (%s); retried", payout_id, error.code)
            return
        if state is None:
            log.error("payout %s: the bank does not know it; left for an operator", payout_id)
            return
        async with self._shards.transaction(merchant_id) as connection:
            await self._apply(connection, merchant_id, payout_id, state)

    async def _apply(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        payout_id: str,
        state: BankPayoutState,
    ) -> None:
        lifecycle = self._lifecycle
        payout = await PayoutRepository(connection).get(merchant_id, payout_id, lock=True)
        if payout is None or payout.status not in (PayoutStatus.IN_TRANSIT, PayoutStatus.PAID):
            return
        if state.status == "failed":
            await lifecycle.fail(
                connection, payout, state.failure_code or "could_not_process", state.failure_message
            )
        elif state.status == "paid" and payout.status is PayoutStatus.IN_TRANSIT:
            await lifecycle.paid(connection, payout)
        elif state.status == "paid":
            await lifecycle.still_paid(connection, payout)
        else:
            await lifecycle.still_in_transit(connection, payout)
