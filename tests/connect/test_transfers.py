"""Separate charges and transfers: the platform moves its available balance to a seller's
(CreateTransfer), idempotently, never more than it holds, and the seller pays it out."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc import aio
from paycore.ledger import codes
from paycore.storage.reads import Cursor
from paycore.v1 import common_pb2, payout_pb2, wallet_pb2

from tests.connect.support import assert_books, event_ids, funded_shop, transfer
from tests.helpers import rich_error
from tests.payout.support import World

P = payout_pb2
W = wallet_pb2


async def test_a_transfer_moves_available_funds_to_the_seller_who_pays_them_out(
    world: World,
) -> None:
    shop, seller, net = await funded_shop(world)
    sent = await transfer(
        shop, 5000, seller, key="tr-1", transfer_group="order-7", description="order 7"
    )
    assert (sent.amount, sent.currency, sent.destination, sent.amount_reversed) == (
        5000,
        "usd",
        seller,
        0,
    )
    assert sent.id.startswith("tr_") and not sent.reversed
    assert (
        await transfer(
            shop, 5000, seller, key="tr-1", transfer_group="order-7", description="order 7"
        )
        == sent
    )  # replayed, nothing moved again
    assert await shop.balance() == ({"usd": net - 5000}, {"usd": 0})
    assert await shop.balance(seller) == ({"usd": 5000}, {"usd": 0})

    platform_rows = [t for t in await shop.transactions() if t.source == sent.id]
    assert [(t.type, t.amount, t.id) for t in platform_rows] == [
        (W.BALANCE_TRANSACTION_TYPE_TRANSFER, -5000, sent.balance_transaction)
    ]
    [seller_row] = await shop.transactions(seller)
    assert (seller_row.type, seller_row.amount, seller_row.source, seller_row.status) == (
        W.BALANCE_TRANSACTION_TYPE_PAYMENT,
        5000,
        sent.id,
        W.BALANCE_TRANSACTION_STATUS_AVAILABLE,
    )
    assert await shop.client.payouts.GetTransfer(P.RetrieveTransferRequest(id=sent.id)) == sent
    assert await event_ids(shop, "transfer.created") == [sent.id]

    await shop.bank_account(account=seller)
    payout = await shop.payout(5000, account=seller)
    await world.platform.pay_out.payouts.send(
        await world.platform.pay_out.reads.payout(shop.id, payout.id)
    )
    await world.advance(3)
    assert (await shop.get_payout(payout.id)).status == P.PAYOUT_STATUS_PAID
    assert await shop.balance(seller) == ({"usd": 0}, {"usd": 0})
    await assert_books(shop, seller)
    await shop.close()


async def test_a_transfer_larger_than_the_available_balance_moves_nothing(world: World) -> None:
    shop, seller, net = await funded_shop(world)
    with pytest.raises(aio.AioRpcError) as raised:
        await transfer(shop, net + 1, seller)
    error = rich_error(raised.value)
    assert (error.code, error.reason, error.param) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "BALANCE_INSUFFICIENT",
        "amount",
    )
    assert await shop.balance() == ({"usd": net}, {"usd": 0})
    # Nothing moved: the seller's default currency at 0 (Stripe's), and not even its ledger
    # accounts were made.
    assert await shop.balance(seller) == ({"usd": 0}, {"usd": 0})
    for spec in codes.seller_accounts(seller):
        made = await world.platform.ledger.list_accounts(shop.id, spec.code, "", Cursor(10))
        assert list(made.data) == [], spec.code
    listed = await shop.client.payouts.ListTransfers(P.ListTransfersRequest())
    assert list(listed.data) == []
    assert [t.type for t in await shop.transactions()] == [W.BALANCE_TRANSACTION_TYPE_PAYMENT]
    await assert_books(shop, seller)
    await shop.close()


async def test_ten_transfers_racing_a_balance_enough_for_three_move_exactly_three(
    world: World,
) -> None:
    shop, seller, net = await funded_shop(world)
    each = net // 3
    assert 4 * each > net
    results = await asyncio.gather(
        *(transfer(shop, each, seller, key=f"race-{n}") for n in range(10)),
        return_exceptions=True,
    )
    made = [r for r in results if isinstance(r, P.Transfer)]
    refused = [r for r in results if isinstance(r, aio.AioRpcError)]
    assert len(made) == 3 and len(refused) == 7, results
    assert {rich_error(r).reason for r in refused} == {"BALANCE_INSUFFICIENT"}
    assert await shop.balance() == ({"usd": net - 3 * each}, {"usd": 0})
    assert await shop.balance(seller) == ({"usd": 3 * each}, {"usd": 0})
    await assert_books(shop, seller)
    await shop.close()


async def test_transfers_list_by_destination_and_group_newest_first(world: World) -> None:
    shop, seller, _ = await funded_shop(world)
    other = await shop.seller("Bob")
    first = await transfer(shop, 100, seller, transfer_group="g1")
    second = await transfer(shop, 200, other, transfer_group="g1")
    third = await transfer(shop, 300, seller, transfer_group="g2")
    every = await shop.client.payouts.ListTransfers(P.ListTransfersRequest())
    assert [t.id for t in every.data] == [third.id, second.id, first.id]
    to_seller = await shop.client.payouts.ListTransfers(P.ListTransfersRequest(destination=seller))
    assert [t.id for t in to_seller.data] == [third.id, first.id]
    group = await shop.client.payouts.ListTransfers(P.ListTransfersRequest(transfer_group="g1"))
    assert [t.id for t in group.data] == [second.id, first.id]
    page = await shop.client.payouts.ListTransfers(P.ListTransfersRequest(limit=1))
    assert [t.id for t in page.data] == [third.id] and page.has_more
    after = await shop.client.payouts.ListTransfers(
        P.ListTransfersRequest(limit=5, starting_after=third.id)
    )
    assert [t.id for t in after.data] == [second.id, first.id]
    before = await shop.client.payouts.ListTransfers(P.ListTransfersRequest(ending_before=first.id))
    assert [t.id for t in before.data] == [third.id, second.id]
    await assert_books(shop, seller, other)
    await shop.close()


async def test_update_changes_metadata_and_description_with_one_event(world: World) -> None:
    shop, seller, _ = await funded_shop(world)
    sent = await transfer(shop, 100, seller, metadata={"order": "7"})
    updated = await shop.client.payouts.UpdateTransfer(
        P.UpdateTransferRequest(id=sent.id, metadata={"note": "x"}, description="paid")
    )
    assert dict(updated.metadata) == {"order": "7", "note": "x"}
    assert updated.description == "paid"
    same = await shop.client.payouts.UpdateTransfer(
        P.UpdateTransferRequest(id=sent.id, metadata={"note": "x"})
    )
    assert same == updated
    assert await event_ids(shop, "transfer.updated") == [sent.id]
    await shop.close()


async def test_bad_input_names_the_field_and_changes_nothing(world: World) -> None:
    shop, seller, net = await funded_shop(world)
    cases = [
        (P.CreateTransferRequest(amount=100, currency="usd"), "destination", "PARAMETER_MISSING"),
        (P.CreateTransferRequest(amount=0, currency="usd", destination=seller), "amount", None),
        (P.CreateTransferRequest(amount=100, destination=seller), "currency", "PARAMETER_MISSING"),
        (
            P.CreateTransferRequest(amount=100, currency="usd", destination="cus_123"),
            "destination",
            None,
        ),
        (
            P.CreateTransferRequest(
                amount=100, currency="usd", destination=seller, source_transaction="re_1"
            ),
            "source_transaction",
            None,
        ),
        (
            P.CreateTransferRequest(
                amount=100, currency="usd", destination=seller, transfer_group="g" * 201
            ),
            "transfer_group",
            None,
        ),
    ]
    for request, param, reason in cases:
        with pytest.raises(aio.AioRpcError) as raised:
            await shop.client.payouts.CreateTransfer(request)
        error = rich_error(raised.value)
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT, (request, error)
        assert error.param == param, (request, error)
        if reason:
            assert error.reason == reason
    assert await shop.balance() == ({"usd": net}, {"usd": 0})
    await assert_books(shop, seller)
    await shop.close()


async def test_transfers_list_by_created_range(world: World) -> None:
    shop, seller, _ = await funded_shop(world)
    earlier = await transfer(shop, 100, seller)
    world.clock.advance(86_400)
    later = await transfer(shop, 200, seller)
    assert later.created == earlier.created + 86_400

    async def listed(created: common_pb2.TimestampRange) -> list[str]:
        page = await shop.client.payouts.ListTransfers(P.ListTransfersRequest(created=created))
        return [found.id for found in page.data]

    assert await listed(common_pb2.TimestampRange(gte=later.created)) == [later.id]
    assert await listed(common_pb2.TimestampRange(lt=later.created)) == [earlier.id]
    assert await listed(common_pb2.TimestampRange(gt=earlier.created - 1)) == [later.id, earlier.id]
    await shop.close()
