"""Transfer reversals: some or all of a transfer taken back from the seller, never more than
was transferred; and what another merchant may not do with a platform's transfers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import grpc
import pytest
from grpc import aio
from paycore.v1 import payout_pb2, wallet_pb2

from tests.connect.support import assert_books, event_ids, funded_shop, reverse, transfer
from tests.helpers import rich_error
from tests.payout.support import World

P = payout_pb2
W = wallet_pb2


async def test_reversals_take_back_at_most_what_was_transferred(world: World) -> None:
    shop, seller, net = await funded_shop(world)
    sent = await transfer(shop, 6000, seller)

    first = await reverse(shop, sent.id, 2000, key="rev-1")
    assert first.id.startswith("trr_")
    assert (first.transfer, first.amount, first.currency) == (sent.id, 2000, "usd")
    assert await reverse(shop, sent.id, 2000, key="rev-1") == first  # replayed
    got = await shop.client.payouts.GetTransfer(P.RetrieveTransferRequest(id=sent.id))
    assert (got.amount_reversed, got.reversed) == (2000, False)
    assert await shop.balance(seller) == ({"usd": 4000}, {"usd": 0})

    with pytest.raises(aio.AioRpcError) as raised:
        await reverse(shop, sent.id, 4001)
    error = rich_error(raised.value)
    assert (error.code, error.reason, error.param) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "AMOUNT_TOO_LARGE",
        "amount",
    )
    rest = await reverse(shop, sent.id)  # no amount: the rest
    assert rest.amount == 4000
    got = await shop.client.payouts.GetTransfer(P.RetrieveTransferRequest(id=sent.id))
    assert (got.amount_reversed, got.reversed) == (6000, True)
    assert [(found.id, found.amount) for found in got.reversals] == [
        (rest.id, 4000),
        (first.id, 2000),
    ]
    with pytest.raises(aio.AioRpcError) as raised:
        await reverse(shop, sent.id, 1)
    error = rich_error(raised.value)
    assert (error.code, error.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "TRANSFER_ALREADY_REVERSED",
    )

    assert await shop.balance(seller) == ({"usd": 0}, {"usd": 0})
    # Credited to the platform's available balance at once, as at Stripe (no job run).
    assert await shop.balance() == ({"usd": net}, {"usd": 0})
    await world.run_jobs()
    assert await shop.balance() == ({"usd": net}, {"usd": 0})
    for account in ("", seller):
        reversals = [
            t
            for t in await shop.transactions(account)
            if t.type == W.BALANCE_TRANSACTION_TYPE_TRANSFER_REVERSAL
        ]
        signed = 1 if account == "" else -1
        assert sorted(t.amount for t in reversals) == sorted([signed * 2000, signed * 4000])
        assert {t.source for t in reversals} == {first.id, rest.id}
    assert await event_ids(shop, "transfer.reversed") == [sent.id, sent.id]
    listed = await shop.client.payouts.ListTransferReversals(
        P.ListTransferReversalsRequest(id=sent.id)
    )
    assert [(found.id, found.amount) for found in listed.data] == [
        (rest.id, 4000),
        (first.id, 2000),
    ]
    page = await shop.client.payouts.ListTransferReversals(
        P.ListTransferReversalsRequest(id=sent.id, limit=1, starting_after=rest.id)
    )
    assert [found.id for found in page.data] == [first.id] and not page.has_more
    await assert_books(shop, seller)
    await shop.close()


async def test_a_reversal_after_a_payout_takes_the_sellers_balance_negative(world: World) -> None:
    shop, seller, _ = await funded_shop(world)
    sent = await transfer(shop, 3000, seller)
    await shop.bank_account(account=seller)
    await shop.payout(3000, account=seller)
    reversal = await reverse(shop, sent.id)
    assert reversal.amount == 3000
    available, pending = await shop.balance(seller)
    assert available["usd"] + pending["usd"] == -3000
    await world.run_jobs()
    await assert_books(shop, seller)
    await shop.close()


async def test_another_merchant_can_neither_read_nor_reverse_nor_target_a_platforms_transfers(
    world: World,
) -> None:
    shop, seller, net = await funded_shop(world)
    sent = await transfer(shop, 1000, seller)
    kept = await reverse(shop, sent.id, 1)
    assert await shop.balance() == ({"usd": net - 999}, {"usd": 0})
    other, other_seller, other_net = await funded_shop(world)

    calls: list[Awaitable[object]] = [
        other.client.payouts.GetTransfer(P.RetrieveTransferRequest(id=sent.id)),
        reverse(other, sent.id),
        other.client.payouts.UpdateTransfer(
            P.UpdateTransferRequest(id=sent.id, metadata={"a": "b"})
        ),
        other.client.payouts.ListTransferReversals(P.ListTransferReversalsRequest(id=sent.id)),
        other.client.payouts.GetTransferReversal(
            P.GetTransferReversalRequest(id=sent.id, reversal=kept.id)
        ),
    ]
    for call in calls:
        with pytest.raises(aio.AioRpcError) as raised:
            await call
        error = rich_error(raised.value)
        assert (error.code, error.reason, error.param) == (
            grpc.StatusCode.NOT_FOUND,
            "RESOURCE_MISSING",
            "id",
        )
    # Its own lists never show them; a transfer to the platform's seller is refused.
    listed = await other.client.payouts.ListTransfers(P.ListTransfersRequest())
    assert list(listed.data) == []
    with pytest.raises(aio.AioRpcError) as raised:
        await other.client.payouts.ListTransfers(P.ListTransfersRequest(destination=seller))
    assert (rich_error(raised.value).reason, rich_error(raised.value).param) == (
        "RESOURCE_MISSING",
        "destination",
    )
    with pytest.raises(aio.AioRpcError) as raised:
        await transfer(other, 100, seller)
    assert (rich_error(raised.value).reason, rich_error(raised.value).param) == (
        "RESOURCE_MISSING",
        "destination",
    )
    got = await shop.client.payouts.GetTransfer(P.RetrieveTransferRequest(id=sent.id))
    assert (got.amount_reversed, dict(got.metadata)) == (1, {})
    assert list(got.reversals) == [kept]
    assert kept == await shop.client.payouts.GetTransferReversal(
        P.GetTransferReversalRequest(id=sent.id, reversal=kept.id)
    )
    assert await shop.balance(seller) == ({"usd": 999}, {"usd": 0})
    assert await other.balance() == ({"usd": other_net}, {"usd": 0})
    await assert_books(shop, seller)
    await assert_books(other, other_seller)
    await shop.close()
    await other.close()


async def test_reversals_racing_one_transfer_never_take_more_than_it_moved(world: World) -> None:
    shop, seller, net = await funded_shop(world)
    sent = await transfer(shop, 3000, seller)
    results = await asyncio.gather(
        *(reverse(shop, sent.id, 1000, key=f"race-{n}") for n in range(6)),
        return_exceptions=True,
    )
    made = [r for r in results if isinstance(r, P.SellerTransferReversal)]
    refused = [r for r in results if isinstance(r, aio.AioRpcError)]
    assert len(made) == 3 and len(refused) == 3, results
    assert {rich_error(r).reason for r in refused} <= {
        "AMOUNT_TOO_LARGE",
        "TRANSFER_ALREADY_REVERSED",
    }
    got = await shop.client.payouts.GetTransfer(P.RetrieveTransferRequest(id=sent.id))
    assert (got.amount_reversed, got.reversed) == (3000, True)
    assert await shop.balance(seller) == ({"usd": 0}, {"usd": 0})
    await world.run_jobs()
    assert await shop.balance() == ({"usd": net}, {"usd": 0})
    await assert_books(shop, seller)
    await shop.close()


async def test_a_reversal_of_amount_zero_is_refused_not_taken_as_the_whole_transfer(
    world: World,
) -> None:
    """amount=0 given (a platform's computed share that came to nothing) was taken as "left
    out" and reversed the whole transfer; as a refund's, a fee refund's and a payout's, an amount
    given must be positive, and only an amount left out takes the rest."""
    shop, seller, net = await funded_shop(world)
    sent = await transfer(shop, 3000, seller)
    for amount in (0, -1):
        with pytest.raises(aio.AioRpcError) as raised:
            await reverse(shop, sent.id, amount)
        error = rich_error(raised.value)
        assert (error.code, error.reason, error.param) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "PARAMETER_INVALID",
            "amount",
        )
    got = await shop.client.payouts.GetTransfer(P.RetrieveTransferRequest(id=sent.id))
    assert (got.amount_reversed, got.reversed, len(got.reversals)) == (0, False, 0)
    assert await shop.balance(seller) == ({"usd": 3000}, {"usd": 0})
    assert await shop.balance() == ({"usd": net - 3000}, {"usd": 0})
    await assert_books(shop, seller)
    await shop.close()


async def test_a_key_reused_with_other_terms_is_refused_and_moves_nothing(world: World) -> None:
    shop, seller, net = await funded_shop(world)
    await transfer(shop, 1000, seller, key="k-1")
    with pytest.raises(aio.AioRpcError) as raised:
        await transfer(shop, 2000, seller, key="k-1")
    assert rich_error(raised.value).reason == "IDEMPOTENCY_KEY_REUSED"
    assert await shop.balance() == ({"usd": net - 1000}, {"usd": 0})
    assert await shop.balance(seller) == ({"usd": 1000}, {"usd": 0})
    await assert_books(shop, seller)
    await shop.close()


async def test_a_reversals_metadata_is_updated_over_grpc_and_nothing_else_moves(
    world: World,
) -> None:
    """UpdateTransferReversal: the metadata alone (Stripe's), idempotent with a key, a bad key
    named as `metadata[...]`, a reversal of another transfer NOT_FOUND naming `reversal`."""
    shop, seller, _ = await funded_shop(world)
    sent = await transfer(shop, 3000, seller)
    other = await transfer(shop, 1000, seller)
    reversal = await reverse(shop, sent.id, 700)
    balances = await shop.balance(), await shop.balance(seller)

    def update(transfer_id: str, **metadata: str) -> P.UpdateTransferReversalRequest:
        return P.UpdateTransferReversalRequest(
            id=transfer_id, reversal=reversal.id, metadata=metadata
        )

    key = (("idempotency-key", "trr-meta-1"),)
    updated = await shop.client.payouts.UpdateTransferReversal(
        update(sent.id, note="late"), metadata=key
    )
    assert (dict(updated.metadata), updated.amount) == ({"note": "late"}, 700)
    assert (
        await shop.client.payouts.UpdateTransferReversal(update(sent.id, note="late"), metadata=key)
        == updated
    )
    read = await shop.client.payouts.GetTransferReversal(
        P.GetTransferReversalRequest(id=sent.id, reversal=reversal.id)
    )
    assert read == updated
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payouts.UpdateTransferReversal(update(sent.id, **{"k" * 41: "v"}))
    assert rich_error(raised.value).param == "metadata[" + "k" * 41 + "]"
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payouts.UpdateTransferReversal(update(other.id, note="x"))
    assert (raised.value.code(), rich_error(raised.value).param) == (
        grpc.StatusCode.NOT_FOUND,
        "reversal",
    )
    assert (await shop.balance(), await shop.balance(seller)) == balances
    await assert_books(shop, seller)
    await shop.close()
