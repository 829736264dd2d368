"""Thirty simulated days of a merchant with two sellers (issue 13, "Done when"): random
payments, refunds and fees; a daily schedule for the merchant and a weekly one for a seller;
one instant payout, one that fails, one canceled, one that fails after it was paid. At the
end, for each account and currency, pending + available + in transit + paid out = the net of
what came in; CheckIntegrity is clean; each automatic payout's balance transactions add up to
its amount; every pay-out event type was recorded."""

from __future__ import annotations

import random
from dataclasses import dataclass

from paycore.v1 import event_pb2, payout_pb2

from tests.payout.support import ACCOUNT_CLOSED, PAID, RETURNED_AFTER_PAID, PayoutShop, World
from tests.payout.test_automatic_payouts import assert_payouts_add_up

P = payout_pb2
DAYS = 30


async def _send(world: World, shop: PayoutShop, payout: P.Payout) -> None:
    """The worker's send of a queued manual payout (once the executor's lease has passed)."""
    pay_out = world.platform.pay_out
    await pay_out.payouts.send(await pay_out.reads.payout(shop.id, payout.id))


async def _trade(
    chance: random.Random, shop: PayoutShop, intents: list[tuple[str, int]], sellers: list[str]
) -> None:
    """One day's business: payments, a marketplace checkout most days, now and then a refund."""
    for _ in range(chance.randint(1, 3)):
        amount = chance.randint(500, 20_000)
        intents.append(((await shop.charge(amount)).id, amount))
    if chance.random() < 0.7:
        await shop.checkout([(seller, chance.randint(500, 9000)) for seller in sellers])
    if intents and chance.random() < 0.4:
        index = chance.randrange(len(intents))
        intent, left = intents[index]
        refunded = chance.randint(1, left)
        await shop.refund(intent, refunded)
        intents[index] = (intent, left - refunded)
        if left == refunded:
            intents.pop(index)


@dataclass(frozen=True)
class Cast:
    alice: str
    bob: str
    returning: str
    closed: str


async def _manual_payouts(
    world: World, shop: PayoutShop, day: int, cast: Cast, manual: dict[str, str]
) -> None:
    """The day's scripted payouts and schedule changes."""
    if day == 5:  # an instant payout, paid at once, for a fee
        instant = await shop.payout(3000, instant=True)
        assert instant.status == P.PAYOUT_STATUS_PAID
        manual["instant"] = instant.id
    elif day == 6:  # a manual payout canceled before it was sent
        canceled = await shop.payout(1500)
        await shop.client.payouts.CancelPayout(P.CancelPayoutRequest(id=canceled.id))
        manual["canceled"] = canceled.id
    elif day == 7:  # a seller's payout to a closed account: it fails, the funds come back
        failing = await shop.payout(2000, account=cast.bob, destination=cast.closed)
        await _send(world, shop, failing)
        manual["failed"] = failing.id
    elif day == 8:  # paid, then returned by the bank days later
        returned = await shop.payout(2500, destination=cast.returning)
        await _send(world, shop, returned)
        manual["returned"] = returned.id
    elif day == 10:  # manual payouts so far; daily automatic ones from now on
        await shop.schedule(P.PAYOUT_SCHEDULE_INTERVAL_DAILY)
    elif day == 14:  # Bob replaces his errored bank account and is paid weekly from now on
        await shop.bank_account(PAID, account=cast.bob)
        await shop.schedule(
            P.PAYOUT_SCHEDULE_INTERVAL_WEEKLY,
            account=cast.bob,
            weekly_anchor=P.PAYOUT_WEEKLY_ANCHOR_MONDAY,
        )


async def _until_paid(world: World, shop: PayoutShop, accounts: tuple[str, ...]) -> None:
    """The last few on their way: until the bank has paid each one."""
    moving = (P.PAYOUT_STATUS_PENDING, P.PAYOUT_STATUS_IN_TRANSIT)
    for _ in range(10):
        payouts = [p for account in accounts for p in await shop.payouts(account)]
        if not any(p.status in moving for p in payouts):
            return
        await world.advance(1)


async def _event_types(shop: PayoutShop) -> set[str]:
    recorded: set[str] = set()
    after = ""
    while True:
        page = await shop.client.events.ListEvents(
            event_pb2.ListEventsRequest(limit=100, starting_after=after)
        )
        recorded |= {event.type for event in page.data}
        if not page.has_more:
            return recorded
        after = page.data[-1].id


async def test_thirty_days_of_a_merchant_with_two_sellers(world: World) -> None:
    chance = random.Random(13)
    shop = await world.shop("Marketplace")
    alice, bob = await shop.seller("Alice"), await shop.seller("Bob")
    await shop.bank_account(PAID)
    returning = await shop.bank_account(RETURNED_AFTER_PAID, default=False)
    await shop.bank_account(PAID, account=alice)
    closed = await shop.bank_account(ACCOUNT_CLOSED, account=bob)
    await shop.schedule(
        P.PAYOUT_SCHEDULE_INTERVAL_WEEKLY,
        account=alice,
        weekly_anchor=P.PAYOUT_WEEKLY_ANCHOR_FRIDAY,
    )
    cast = Cast(alice, bob, returning.id, closed.id)
    intents: list[tuple[str, int]] = []
    manual: dict[str, str] = {}
    for day in range(DAYS):
        await _trade(chance, shop, intents, [alice, bob])
        await _manual_payouts(world, shop, day, cast, manual)
        await world.advance(1)
    await world.advance(12)  # nothing new: everything settles, is paid out and arrives
    await _until_paid(world, shop, ("", alice, bob))

    outcomes = {name: (await shop.get_payout(payout_id)) for name, payout_id in manual.items()}
    assert outcomes["instant"].status == P.PAYOUT_STATUS_PAID and outcomes["instant"].fee == 50
    assert outcomes["canceled"].status == P.PAYOUT_STATUS_CANCELED
    assert (outcomes["failed"].status, outcomes["failed"].failure_code) == (
        P.PAYOUT_STATUS_FAILED,
        "account_closed",
    )
    assert (outcomes["returned"].status, outcomes["returned"].failure_code) == (
        P.PAYOUT_STATUS_FAILED,
        "account_closed",
    )
    for account in ("", alice, bob):
        automatic = await assert_payouts_add_up(shop, account)
        assert automatic, account
        assert all(p.status == P.PAYOUT_STATUS_PAID for p in automatic), [
            (p.status, p.created, p.arrival_date, p.amount, p.failure_code) for p in automatic
        ]
        await shop.assert_identity(account)
        available, pending = await shop.balance(account)
        assert pending == {"usd": 0} and available == {"usd": 0}, (account, available, pending)
    await shop.assert_clean()
    assert {
        "payout.created",
        "payout.updated",
        "payout.paid",
        "payout.failed",
        "payout.canceled",
        "balance.available",
    } <= await _event_types(shop)
    await shop.close()
