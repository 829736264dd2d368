"""Automatic payouts from payout schedules: a daily one for the merchant, a weekly one for a
seller; each pays out what became available and names it (ListBalanceTransactions filtered by
payout adds up to the payout's amount); one per account, currency and period however many
workers run; a minimum holds small amounts back; an automatic payout cannot be canceled."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from grpc import aio
from paycore.app import build_platform
from paycore.v1 import payout_pb2, wallet_pb2
from prometheus_client import CollectorRegistry

from tests.helpers import rich_error
from tests.payment.shop import fee
from tests.payout.support import DAY, PayoutShop, World

P = payout_pb2


async def assert_payouts_add_up(shop: PayoutShop, account: str = "") -> list[P.Payout]:
    automatic = [p for p in await shop.payouts(account) if p.automatic]
    for payout in automatic:
        rows = await shop.transactions(account, payout=payout.id)
        contained = [t for t in rows if t.source != payout.id]
        assert sum(t.net for t in contained) == payout.amount, payout
        assert all(t.payout == payout.id for t in rows)
        assert [t.type for t in rows if t.source == payout.id] == [
            wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYOUT
        ]
    return automatic


async def test_daily_and_weekly_schedules_pay_out_what_became_available(world: World) -> None:
    shop = await world.shop()
    seller = await shop.seller("Alice")
    await shop.bank_account()
    await shop.bank_account(account=seller)
    daily = await shop.schedule(P.PAYOUT_SCHEDULE_INTERVAL_DAILY)
    assert daily.next_payout == int(world.clock.now) // 86_400 * 86_400 + 86_400  # Tuesday
    weekly = await shop.schedule(
        P.PAYOUT_SCHEDULE_INTERVAL_WEEKLY,
        account=seller,
        weekly_anchor=P.PAYOUT_WEEKLY_ANCHOR_FRIDAY,
    )
    assert weekly.weekly_anchor == P.PAYOUT_WEEKLY_ANCHOR_FRIDAY

    expected_merchant = 0
    expected_seller = 0
    for day in range(5):  # Monday to Friday
        intent = await shop.charge(5000 + day)
        expected_merchant += 5000 + day - fee(5000 + day)
        if day == 1:
            await shop.refund(intent.id, 1000)
            expected_merchant -= 1000
        await shop.checkout([(seller, 3000)])
        expected_seller += 3000 - fee(3000)
        await world.advance(1)
    await world.advance(5)  # Thursday the 17th: all of the merchant's funds were paid out

    merchant_payouts = await assert_payouts_add_up(shop)
    periods = [p.arrival_date for p in merchant_payouts]
    assert len(merchant_payouts) >= 4 and len(set(periods)) >= 2
    seller_payouts = await assert_payouts_add_up(shop, seller)
    assert len(seller_payouts) == 1  # Friday the 11th: Monday to Wednesday's funds
    fridays = {dt.datetime.fromtimestamp(p.created, dt.UTC).weekday() for p in seller_payouts}
    assert fridays == {4}
    await world.advance(7)  # Thursday the 24th: Friday the 18th paid out the rest
    seller_payouts = await assert_payouts_add_up(shop, seller)
    assert len(seller_payouts) == 2
    assert sum(p.amount for p in seller_payouts) == expected_seller
    assert sum(p.amount for p in await assert_payouts_add_up(shop)) == expected_merchant
    assert all(
        p.status == P.PAYOUT_STATUS_PAID
        for p in await shop.payouts() + await shop.payouts(seller)
        if p.created < world.clock.now - 3 * 86_400
    )
    with pytest.raises(aio.AioRpcError) as raised:
        await shop.client.payouts.CancelPayout(P.CancelPayoutRequest(id=merchant_payouts[0].id))
    assert rich_error(raised.value).reason == "PAYOUT_NOT_CANCELABLE"
    for account in ("", seller):
        await shop.assert_identity(account)
    await shop.assert_clean()
    await shop.close()


async def test_next_payout_is_the_next_run_that_will_happen(world: World) -> None:
    """The probe: a daily schedule set at 10:00 answered today's midnight, already past (the
    job then paid nothing for it and moved it to tomorrow). A schedule set during a day runs
    from the next day's start; one whose cadence does not change keeps its next run."""
    shop = await world.shop()
    await shop.bank_account()
    monday = int(world.clock.now) // DAY * DAY
    daily = await shop.schedule(P.PAYOUT_SCHEDULE_INTERVAL_DAILY)
    assert daily.next_payout == monday + DAY > world.clock.now
    await world.run_jobs()
    shown = await shop.client.payouts.GetPayoutSchedule(P.GetPayoutScheduleRequest())
    assert shown.next_payout == monday + DAY  # the job did not move it: it is what will happen
    await world.advance(1)  # Tuesday 10:00: Tuesday's run happened
    shown = await shop.client.payouts.GetPayoutSchedule(P.GetPayoutScheduleRequest())
    assert shown.next_payout == monday + 2 * DAY
    # The same cadence with another minimum keeps Wednesday (it went back to Tuesday, a run
    # that had happened and that the job then skipped).
    kept = await shop.client.payouts.UpdatePayoutSchedule(
        P.UpdatePayoutScheduleRequest(
            interval=P.PAYOUT_SCHEDULE_INTERVAL_DAILY, minimum_amounts={"usd": 10_000}
        )
    )
    assert kept.next_payout == monday + 2 * DAY
    # Weekly on the day it is: next week's, not today's midnight.
    weekly = await shop.schedule(
        P.PAYOUT_SCHEDULE_INTERVAL_WEEKLY, weekly_anchor=P.PAYOUT_WEEKLY_ANCHOR_TUESDAY
    )
    assert weekly.next_payout == monday + 8 * DAY
    monthly = await shop.client.payouts.UpdatePayoutSchedule(
        P.UpdatePayoutScheduleRequest(interval=P.PAYOUT_SCHEDULE_INTERVAL_MONTHLY, monthly_anchor=8)
    )
    assert monthly.next_payout == int(dt.datetime(2027, 1, 8, tzinfo=dt.UTC).timestamp())
    await shop.close()


async def test_a_minimum_holds_small_payouts_back(world: World) -> None:
    shop = await world.shop()
    await shop.bank_account()
    await shop.client.payouts.UpdatePayoutSchedule(
        P.UpdatePayoutScheduleRequest(
            interval=P.PAYOUT_SCHEDULE_INTERVAL_DAILY, minimum_amounts={"usd": 10_000}
        )
    )
    await shop.charge(6000)
    await world.advance(3)
    assert await shop.payouts() == []
    await shop.charge(6000)
    await world.advance(3)
    [payout] = await shop.payouts()
    assert payout.amount == 2 * (6000 - fee(6000))
    await shop.assert_clean()
    await shop.close()


async def test_two_workers_side_by_side_make_one_payout_per_account_currency_and_period(
    world: World,
) -> None:
    shops = [await world.shop(f"Shop {index}") for index in range(6)]
    for shop in shops:
        await shop.bank_account()
        await shop.charge(4000)
        await shop.schedule(P.PAYOUT_SCHEDULE_INTERVAL_DAILY)
    world.clock.advance(2 * 86_400)
    second = build_platform(world.platform.settings, CollectorRegistry(), world.clock)
    try:
        for engine, other in zip(world.platform.shards.engines, second.shards.engines, strict=True):
            await world.platform.pay_out.availability.run(engine)
            runs = [
                world.platform.pay_out.scheduler.run(engine, 2),
                second.pay_out.scheduler.run(other, 2),
            ] * 4
            await asyncio.gather(*runs)
    finally:
        await second.close()
    await world.run_jobs()
    for shop in shops:
        payouts = await shop.payouts()
        assert len(payouts) == 1, payouts
        assert payouts[0].amount == 4000 - fee(4000)
        await shop.assert_clean()
        await shop.close()
