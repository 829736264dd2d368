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
from dataclasses import dataclass, replace

from paycore.errors import invalid, missing
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
        interval, weekly_anchor, monthly_anchor = cadence(current, change)
        updated = Schedule(
            account=change.account,
            interval=interval,
            delay_days=current.delay_days if change.delay_days is None else change.delay_days,
            weekly_anchor=weekly_anchor,
            monthly_anchor=monthly_anchor,
            minimum_amounts=minimums(current.minimum_amounts, change.minimum_amounts),
        )
        next_run_on = (
            current.next_run_on
            if same_cadence(current, updated)
            else next_run_after(interval, weekly_anchor, monthly_anchor, day_of(self._clock()))
        )
        updated = replace(updated, next_run_on=next_run_on)
        await repository.put(merchant_id, updated, int(self._clock()))
        return updated


def minimums(current: dict[str, int], given: dict[str, int] | None) -> dict[str, int]:
    """The schedule's minimum per currency after a change: the currencies given set (0 removes
    one's minimum), the others kept, as metadata's keys at Stripe. The map given replaced the
    schedule's (a kwd minimum dropped the usd one) and none could be removed."""
    merged = {**current, **(given or {})}
    return {currency: minimum for currency, minimum in merged.items() if minimum}


def cadence(current: Schedule, change: ScheduleChange) -> tuple[Interval, int, int]:
    """The interval and the weekly and monthly anchors `change` leaves: each given, else the
    current one; the anchor the interval uses given, or kept from the same interval
    (PARAMETER_MISSING naming it otherwise), the other 1. An anchor given for an interval that
    does not use it (`interval=daily&weekly_anchor=friday`) is PARAMETER_INVALID naming it,
    as Stripe's anchors are "required and applicable only" for their interval: it was dropped
    without a word."""
    interval = change.interval or current.interval
    for param, given, uses in (
        ("weekly_anchor", change.weekly_anchor, Interval.WEEKLY),
        ("monthly_anchor", change.monthly_anchor, Interval.MONTHLY),
    ):
        if given is not None and interval is not uses:
            raise invalid(
                param,
                f"applies only to a {uses.value} schedule; this one is {interval.value}"
                f" (give interval={uses.value} with it)",
            )
    same = interval is current.interval
    weekly = change.weekly_anchor or (current.weekly_anchor if same else None)
    monthly = change.monthly_anchor or (current.monthly_anchor if same else None)
    if interval is Interval.WEEKLY and weekly is None:
        raise missing("weekly_anchor")
    if interval is Interval.MONTHLY and monthly is None:
        raise missing("monthly_anchor")
    return (
        interval,
        weekly if interval is Interval.WEEKLY and weekly else 1,
        monthly if interval is Interval.MONTHLY and monthly else 1,
    )


def same_cadence(current: Schedule, updated: Schedule) -> bool:
    """Whether `updated` keeps the schedule's run days (its interval and the anchor it uses)."""
    if current.interval is not updated.interval:
        return False
    if updated.interval is Interval.WEEKLY:
        return current.weekly_anchor == updated.weekly_anchor
    if updated.interval is Interval.MONTHLY:
        return current.monthly_anchor == updated.monthly_anchor
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
