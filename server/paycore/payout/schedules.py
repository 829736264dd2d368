"""Payout schedules (manual / daily / weekly on an anchor day / monthly on an anchor date, the
delay before funds become available, a minimum per currency) and the scheduler job that makes
the automatic payouts when a schedule's day comes.

A schedule's day runs from its start (00:00 UTC), so a schedule set or changed during a day
runs first on a later day: the next run strictly after today (today's start has passed; a
run then would be in the past, and today's period may be paid already). A change that keeps
the cadence (interval and the anchor it uses: a new minimum or delay) keeps the next run.

The scheduler claims due schedules with FOR UPDATE SKIP LOCKED and, in the same transaction,
creates their payouts and moves each schedule's next_run_on past today, so however many
workers run, a schedule's day is paid out once (the unique index on account, currency and
period is the last guard). A run after missed days pays everything at once, as one payout
for the first missed period. The payouts go to the bank after the commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from paycore.payout.balances import Clock
from paycore.payout.bank_accounts import require_account
from paycore.payout.calendar import day_of, next_run_after
from paycore.payout.models import Interval, Schedule, ScheduleChange
from paycore.payout.payouts import Created, Payouts, send_all
from paycore.payout.repository import ScheduledBatch, ScheduleRepository
from paycore.storage import Shards
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)
SCHEDULES_PER_RUN_MAX = 200


@dataclass(frozen=True, slots=True)
class Schedules:
    _shards: Shards
    _clock: Clock

    async def get(self, merchant_id: str, account: str) -> Schedule:
        async with self._shards.read(merchant_id) as connection:
            await require_account(connection, merchant_id, account)
            return await ScheduleRepository(connection).get(merchant_id, account)

    async def update(
        self, connection: AsyncConnection, merchant_id: str, change: ScheduleChange
    ) -> Schedule:
        await require_account(connection, merchant_id, change.account)
        repository = ScheduleRepository(connection)
        current = await repository.get(merchant_id, change.account, lock=True)
        today = day_of(self._clock())
        next_run_on = (
            current.next_run_on
            if same_cadence(current, change)
            else next_run_after(change.interval, change.weekly_anchor, change.monthly_anchor, today)
        )
        updated = Schedule(
            account=change.account,
            interval=change.interval,
            delay_days=current.delay_days if change.delay_days is None else change.delay_days,
            weekly_anchor=change.weekly_anchor,
            monthly_anchor=change.monthly_anchor,
            minimum_amounts=(
                current.minimum_amounts
                if change.minimum_amounts is None
                else change.minimum_amounts
            ),
            next_run_on=next_run_on,
        )
        await repository.put(merchant_id, updated, int(self._clock()))
        return updated


def same_cadence(current: Schedule, change: ScheduleChange) -> bool:
    """Whether `change` keeps the schedule's run days (its interval and the anchor it uses)."""
    if current.interval is not change.interval:
        return False
    if change.interval is Interval.WEEKLY:
        return current.weekly_anchor == change.weekly_anchor
    if change.interval is Interval.MONTHLY:
        return current.monthly_anchor == change.monthly_anchor
    return True


@dataclass(frozen=True, slots=True)
class Scheduler:
    _payouts: Payouts
    _clock: Clock

    async def run(self, engine: AsyncEngine, limit: int = SCHEDULES_PER_RUN_MAX) -> int:
        """One batch of due schedules on one shard; returns how many it ran."""
        today = day_of(self._clock())
        created: list[Created] = []
        async with engine.begin() as connection:
            due = await ScheduleRepository(connection).claim_due(today, limit)
            if not due:
                return 0
            created = await self._payouts.automatic(connection, due)
            await ScheduledBatch(connection).advance(
                [
                    (
                        merchant_id,
                        schedule.account,
                        next_run_after(
                            schedule.interval,
                            schedule.weekly_anchor,
                            schedule.monthly_anchor,
                            today,
                        ),
                    )
                    for merchant_id, schedule in due
                ]
            )
        await send_all(self._payouts, created)
        return len(due)
