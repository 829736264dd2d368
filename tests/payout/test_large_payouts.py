"""An automatic payout larger than the largest charge: a day's sales add up to more than one
charge may be (99,999,999 minor units), and the bank pays what the balance holds."""

from __future__ import annotations

from paycore.v1 import payout_pb2

from tests.payment.shop import fee
from tests.payout.support import World

P = payout_pb2


async def test_an_automatic_payout_above_the_largest_charge_is_paid(world: World) -> None:
    shop = await world.shop()
    await shop.bank_account(currency="vnd")
    await shop.schedule(P.PAYOUT_SCHEDULE_INTERVAL_DAILY)
    largest = 99_999_999
    sales = [60_000_000, 60_000_000]  # US$2,400 each: no fraud review
    for amount in sales:
        await shop.charge(amount, "vnd")
    await world.advance(3)
    [payout] = [p for p in await shop.payouts() if p.automatic]
    assert payout.amount == sum(amount - fee(amount) for amount in sales) > largest
    await world.advance(5)  # past its arrival date
    payout = await shop.get_payout(payout.id)
    assert (payout.status, payout.failure_code) == (P.PAYOUT_STATUS_PAID, "")
    await shop.assert_identity(currency="vnd")
    await shop.assert_clean("vnd")
