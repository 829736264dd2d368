"""ReversePayout (Stripe's POST /v1/payouts/{id}/reverse): a paid standard payout of a seller to
a US bank account is reversed by a new payout of -amount that names it (`original_payout`) and
that it names (`reversed_by`); the amount comes back to the seller's available balance through
the ledger; anything Stripe would not reverse is FAILED_PRECONDITION PAYOUT_NOT_REVERSIBLE
naming `id`, and changes nothing; the books balance after each scenario."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from paycore.v1 import event_pb2, payout_pb2, wallet_pb2

from tests.helpers import rich_error
from tests.payment.shop import fee
from tests.payout.support import (
    RETURNED_AFTER_PAID,
    PayoutShop,
    World,
    paid_seller_payout,
    send_pending,
)

P = payout_pb2


async def _reverse(shop: PayoutShop, payout_id: str, key: str = "", **metadata: str) -> P.Payout:
    return await shop.client.payouts.ReversePayout(
        P.ReversePayoutRequest(id=payout_id, metadata=metadata),
        metadata=(("idempotency-key", key),) if key else None,
    )


async def _refused(shop: PayoutShop, payout_id: str) -> str:
    with pytest.raises(aio.AioRpcError) as raised:
        await _reverse(shop, payout_id)
    error = rich_error(raised.value)
    assert (error.code, error.reason, error.param) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "PAYOUT_NOT_REVERSIBLE",
        "id",
    )
    return str(raised.value.details())


async def test_a_paid_payout_is_reversed_once_and_its_amount_comes_back(world: World) -> None:
    shop = await world.shop()
    seller, original = await paid_seller_payout(world, shop, 4000)
    net = 10_000 - fee(10_000)
    assert await shop.balance(seller) == ({"usd": net - 4000}, {"usd": 0})

    reversal = await _reverse(shop, original.id, key="reverse-1", reason="fraud")
    assert (reversal.amount, reversal.status, reversal.original_payout) == (
        -4000,
        P.PAYOUT_STATUS_PAID,
        original.id,
    )
    assert (reversal.account, reversal.destination, reversal.reversed_by) == (
        seller,
        original.destination,
        "",
    )
    assert dict(reversal.metadata) == {"reason": "fraud"}
    again = await _reverse(shop, original.id, key="reverse-1", reason="fraud")
    assert again == reversal  # the idempotent replay answers the same reversal
    reversed_original = await shop.get_payout(original.id)
    assert (reversed_original.status, reversed_original.reversed_by) == (
        P.PAYOUT_STATUS_PAID,
        reversal.id,
    )
    assert await shop.balance(seller) == ({"usd": net}, {"usd": 0})
    [row] = [t for t in await shop.transactions(seller) if t.source == reversal.id]
    assert (row.id, row.type, row.amount, row.net, row.status) == (
        reversal.balance_transaction,
        wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYOUT,
        4000,
        4000,
        wallet_pb2.BALANCE_TRANSACTION_STATUS_AVAILABLE,
    )

    events = await shop.client.events.ListEvents(event_pb2.ListEventsRequest(limit=100))
    seen = []
    for event in reversed(events.data):
        payout = P.Payout()
        if event.data.object.Unpack(payout) and payout.id in (original.id, reversal.id):
            seen.append((event.type, payout.id, payout.reversed_by))
    assert seen[-3:] == [
        ("payout.updated", original.id, reversal.id),
        ("payout.created", reversal.id, ""),
        ("payout.paid", reversal.id, ""),
    ]

    assert "reversed by" in await _refused(shop, original.id)
    assert "reversal of" in await _refused(shop, reversal.id)
    await shop.assert_identity(seller)
    await shop.assert_clean()
    await shop.close()


async def test_what_stripe_would_not_reverse_is_refused_and_nothing_moves(world: World) -> None:
    shop = await world.shop()
    seller, _ = await paid_seller_payout(world, shop, 1000)
    pending = await shop.payout(1000, account=seller)
    assert "cancel it instead" in await _refused(shop, pending.id)
    await shop.bank_account()
    await shop.charge(5000)
    await world.advance(2)
    own = await shop.payout(1000)
    await send_pending(world, shop, own.id)
    for _ in range(5):
        await world.advance(1)
    assert (await shop.get_payout(own.id)).status == P.PAYOUT_STATUS_PAID
    assert "connected accounts" in await _refused(shop, own.id)
    before = await shop.balance(seller), await shop.balance()
    with pytest.raises(aio.AioRpcError) as raised:
        await _reverse(shop, "po_" + "0" * 22)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert (await shop.balance(seller), await shop.balance()) == before
    for account in (seller, ""):
        await shop.assert_identity(account)
    await shop.assert_clean()
    await shop.close()


async def test_a_reversed_payout_the_bank_returns_later_is_not_returned_again(
    world: World,
) -> None:
    shop = await world.shop()
    seller, original = await paid_seller_payout(world, shop, 3000, RETURNED_AFTER_PAID)
    reversal = await _reverse(shop, original.id)
    after_reversal = await shop.balance(seller)
    await world.advance(6)  # the bank's return would have come three days after arrival
    assert (await shop.get_payout(original.id)).status == P.PAYOUT_STATUS_PAID
    assert await shop.balance(seller) == after_reversal
    assert reversal.status == P.PAYOUT_STATUS_PAID
    await shop.assert_identity(seller)
    await shop.assert_clean()
    await shop.close()
