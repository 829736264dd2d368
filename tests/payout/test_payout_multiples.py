"""Automatic payouts in currencies whose payouts processors take only in whole multiples
(paycore.currency.rules: HUF and TWD in hundreds of minor units, ISK in hundreds as its
charges, the three-decimal currencies in tens): each payout pays the largest such amount of
what it sweeps and carries the rest, available, to the next payout: in the ledger (it stays on
balance_available) and in the balance transactions (a row of the payout taking it out, netting
its rows to its amount, and an unswept row giving it to the next payout)."""

from __future__ import annotations

import pytest
from paycore.v1 import payout_pb2, wallet_pb2

from tests.payment.shop import fee
from tests.payout.support import PayoutShop, World

P = payout_pb2
W = wallet_pb2


async def _automatic(shop: PayoutShop) -> list[P.Payout]:
    return sorted((p for p in await shop.payouts() if p.automatic), key=lambda p: p.created)


async def _assert_rows_add_up(shop: PayoutShop, payout: P.Payout, carried: int) -> None:
    """The payout's rows: its own -amount, what it swept, and -carried when it carried any;
    they net to zero (the swept rows less the carried one are its amount)."""
    rows = await shop.transactions(payout=payout.id)
    own = [t for t in rows if t.source == payout.id]
    assert sorted(t.net for t in own) == sorted([-payout.amount] + ([-carried] if carried else []))
    assert all(t.type == W.BALANCE_TRANSACTION_TYPE_PAYOUT for t in own)
    assert sum(t.net for t in rows) == 0
    assert all(t.payout == payout.id for t in rows)
    # What it carried waits, available and unswept, for the next payout.
    handed_on = [
        t for t in await shop.transactions() if t.source == payout.id and t.payout != payout.id
    ]
    assert [(t.net, t.status) for t in handed_on] == (
        [(carried, W.BALANCE_TRANSACTION_STATUS_AVAILABLE)] if carried else []
    )


@pytest.mark.parametrize(
    ("currency", "multiple", "first", "second"),
    [
        ("huf", 100, 2_000_000, 2_500_000),  # (small forints look like card testing)
        ("twd", 100, 20_000, 25_000),
        ("isk", 100, 20_000, 25_000),
        ("kwd", 10, 20_030, 25_000),
    ],
)
async def test_an_automatic_payout_pays_whole_multiples_and_carries_the_rest(
    world: World, currency: str, multiple: int, first: int, second: int
) -> None:
    shop = await world.shop()
    await shop.bank_account(currency=currency)
    await shop.schedule(P.PAYOUT_SCHEDULE_INTERVAL_DAILY)

    await shop.charge(first, currency)
    await world.advance(3)
    net = first - fee(first)
    carried = net % multiple
    assert carried, "the amounts must leave a remainder for the test to mean anything"
    [payout] = await _automatic(shop)
    assert (payout.amount, payout.currency) == (net - carried, currency)
    await _assert_rows_add_up(shop, payout, carried)
    assert await shop.ledger_balance("balance_available", currency) == carried
    assert (await shop.balance())[0][currency] == carried

    await shop.charge(second, currency)
    await world.advance(3)
    total = carried + second - fee(second)
    carried_again = total % multiple
    earlier, later = await _automatic(shop)
    assert earlier.id == payout.id
    # The carried remainder is part of the next payout (without it the payout would be less).
    assert later.amount == total - carried_again
    assert later.amount != (second - fee(second)) // multiple * multiple
    assert later.amount % multiple == 0
    await _assert_rows_add_up(shop, later, carried_again)
    assert await shop.ledger_balance("balance_available", currency) == carried_again

    await world.advance(5)  # both paid
    paid = [p for p in await shop.payouts() if p.status == P.PAYOUT_STATUS_PAID]
    assert sum(p.amount for p in paid) + carried_again == net + second - fee(second)
    await shop.assert_identity(currency=currency)
    await shop.assert_clean(currency)
    await shop.close()


async def test_a_remainder_alone_waits_for_more(world: World) -> None:
    """An account whose unswept rows are only a carried remainder (less than one multiple)
    makes no payout; its remainder stays available and unswept."""
    shop = await world.shop()
    await shop.bank_account(currency="huf")
    await shop.schedule(P.PAYOUT_SCHEDULE_INTERVAL_DAILY)
    await shop.charge(2_000_000, "huf")
    await world.advance(3)
    await world.advance(3)
    [payout] = await _automatic(shop)
    carried = 2_000_000 - fee(2_000_000) - payout.amount
    assert 0 < carried < 100
    unswept = [t for t in await shop.transactions() if not t.payout]
    assert [t.net for t in unswept] == [carried]
    await shop.assert_identity(currency="huf")
    await shop.assert_clean("huf")
    await shop.close()
