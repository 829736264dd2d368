"""Probe (concurrent CreatePayout on a merchant whose funds had just come due): a payout that
ran while another transaction of the same merchant was settling those funds (had claimed the
due balance transactions, not yet moved them to available) skipped the claimed rows, locked the
balance as it stood, and was refused BALANCE_INSUFFICIENT "(0 usd)" with the funds there; two
such payouts also deadlocked. A payout, a transfer or a balance read of one merchant now waits
for the settlement in flight and sees its result."""

from __future__ import annotations

import asyncio

from paycore.payout.repository import BalanceTransactionRepository

from tests.payment.shop import fee
from tests.payout.support import World

BYPASS_PENDING = "4000000000000077"


async def test_a_payout_waits_for_a_settlement_in_flight_instead_of_refusing_the_funds(
    world: World,
) -> None:
    shop = await world.shop()
    await shop.bank_account()
    await shop.pay(BYPASS_PENDING, 10_000)  # due at once, pending until something settles it
    available = 10_000 - fee(10_000)
    platform = world.platform
    async with platform.shards.engine_for_merchant(shop.id).begin() as settling:
        # The availability job's (or another request's) settlement, between its claim of the
        # due rows and its ledger postings.
        claimed = await BalanceTransactionRepository(settling).claim_due(
            int(world.clock.now), 100, shop.id
        )
        assert len(claimed) == 1
        payout = asyncio.ensure_future(shop.payout(available, key="settling-race"))
        await asyncio.sleep(0.5)
        assert not payout.done(), payout.result()  # it waits on the claimed rows
        assert await platform.pay_out.availability.settle(settling, shop.id) == 1
    paid = await payout
    assert paid.amount == available
    assert await shop.balance() == ({"usd": 0}, {"usd": 0})
    await shop.assert_identity()
    await shop.close()
