"""Stripe's balance shows `instant_available`, what an instant payout can take now, and its
instant payouts guide sends a merchant there before one. paycore's balance showed only
`available`, while an instant payout needs its amount and its fee out of it: a merchant asking
for the whole of `available` instantly was refused ("11882 usd is more than can be paid out now
(11764 usd)", the figure it was refused for being one it never typed), and had no way to learn
the largest amount that goes through."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from paycore.v1 import event_pb2, wallet_pb2

from tests.helpers import rich_error
from tests.payment.shop import fee
from tests.payout.support import PayoutShop, World

INSTANT_FEE_BPS = 100  # the default, 1 %
INSTANT_FEE_MINIMUM = 50


def instant_fee(amount: int) -> int:
    return max(INSTANT_FEE_MINIMUM, (amount * INSTANT_FEE_BPS + 5_000) // 10_000)


async def instant_available(shop: PayoutShop) -> dict[str, int]:
    found = await shop.client.wallet.GetBalance(wallet_pb2.GetBalanceRequest())
    return {money.currency: money.amount for money in found.instant_available}


async def test_the_balance_shows_the_largest_instant_payout_and_it_goes_through(
    world: World,
) -> None:
    shop = await world.shop()
    assert await instant_available(shop) == {"usd": 0}  # a balance never moved
    await shop.charge(12_000)
    await shop.bank_account()
    await world.advance(2)
    available = 12_000 - fee(12_000)
    assert await shop.balance() == ({"usd": available}, {"usd": 0})

    largest = (await instant_available(shop))["usd"]
    assert largest + instant_fee(largest) <= available
    assert (largest + 1) + instant_fee(largest + 1) > available  # nothing larger is payable
    assert largest < available  # not the available balance: the fee comes out of it too

    with pytest.raises(aio.AioRpcError) as refused:
        await shop.payout(largest + 1, instant=True)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert rich_error(refused.value).reason == "BALANCE_INSUFFICIENT"

    paid = await shop.payout(largest, instant=True, key="instant-available")
    assert paid.amount == largest
    left = available - largest - instant_fee(largest)
    assert await shop.balance() == ({"usd": left}, {"usd": 0})
    assert await instant_available(shop) == {"usd": 0}  # under fee + 1 is left
    await shop.assert_identity()
    await shop.assert_clean()
    await shop.close()


async def test_the_balance_available_event_shows_instant_available_as_the_balance_does(
    world: World,
) -> None:
    """Stripe's balance.available carries a Balance, `instant_available` included; paycore's
    showed available and pending alone, so a receiver learning of new funds from the event had
    to read the balance again to learn what it could pay out instantly."""
    shop = await world.shop()
    await shop.charge(12_000)
    await world.advance(2)
    balance = await shop.client.wallet.GetBalance(wallet_pb2.GetBalanceRequest())
    largest = (await instant_available(shop))["usd"]
    assert largest > 0

    listed = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="balance.available", limit=10)
    )
    [event] = listed.data
    carried = wallet_pb2.Balance()
    assert event.data.object.Unpack(carried), event.data.object.type_url
    assert [(m.currency, m.amount) for m in carried.available] == [
        (m.currency, m.amount) for m in balance.available
    ]
    assert [(m.currency, m.amount) for m in carried.instant_available] == [("usd", largest)]
    await shop.close()
