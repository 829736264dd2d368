"""A transfer following a charge (source_transaction): it takes the charge's funds where they
are, pending until they become available, and never more than the charge received."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from paycore.v1 import payout_pb2, wallet_pb2

from tests.connect.support import assert_books, transfer
from tests.helpers import rich_error
from tests.payment.shop import fee
from tests.payout.support import World

P = payout_pb2
W = wallet_pb2


async def test_a_transfer_follows_its_charges_pending_funds_until_they_are_available(
    world: World,
) -> None:
    shop = await world.shop()
    seller = await shop.seller("Alice")
    intent = await shop.charge(10_000)
    net = 10_000 - fee(10_000)
    [charge_row] = await shop.transactions()

    with pytest.raises(aio.AioRpcError) as raised:
        await transfer(shop, 3000, seller)  # nothing is available yet
    assert rich_error(raised.value).reason == "BALANCE_INSUFFICIENT"

    sent = await transfer(shop, 3000, seller, source_transaction=intent.id)
    assert sent.source_transaction == intent.id
    assert await shop.balance() == ({"usd": 0}, {"usd": net - 3000})
    assert await shop.balance(seller) == ({"usd": 0}, {"usd": 3000})
    [seller_row] = await shop.transactions(seller)
    assert seller_row.status == W.BALANCE_TRANSACTION_STATUS_PENDING
    assert seller_row.available_on == charge_row.available_on

    with pytest.raises(aio.AioRpcError) as raised:
        await transfer(shop, 7001, seller, source_transaction=intent.id)
    error = rich_error(raised.value)
    assert (error.code, error.reason, error.param) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "AMOUNT_TOO_LARGE",
        "amount",
    )
    with pytest.raises(aio.AioRpcError) as raised:
        await transfer(shop, 100, seller, source_transaction=intent.id, currency="eur")
    assert rich_error(raised.value).param == "currency"

    await world.advance(2)
    assert await shop.balance() == ({"usd": net - 3000}, {"usd": 0})
    assert await shop.balance(seller) == ({"usd": 3000}, {"usd": 0})
    await assert_books(shop, seller)
    await shop.close()


async def test_a_source_transaction_that_received_nothing_is_refused(world: World) -> None:
    shop = await world.shop()
    seller = await shop.seller("Alice")
    other = await world.shop("Other")
    foreign = await other.charge(5000)
    for source in (foreign.id, "pi_0000000000000000"):
        with pytest.raises(aio.AioRpcError) as raised:
            await transfer(shop, 100, seller, source_transaction=source)
        error = rich_error(raised.value)
        assert (error.code, error.param) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "source_transaction",
        )
    await shop.close()
    await other.close()
