"""Instant payouts (a fee, at once, to a bank account that takes them or to a debit card) and
canceling a pending manual payout (its execution withdrawn, the funds back)."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from paycore.executor.models import ExecutionState
from paycore.v1 import payout_pb2, wallet_pb2

from tests.helpers import rich_error
from tests.payment.shop import fee
from tests.payout.support import World

P = payout_pb2


async def test_an_instant_payout_is_paid_at_once_for_a_fee(world: World) -> None:
    shop = await world.shop()
    await shop.charge(20_000)
    net = 20_000 - fee(20_000)
    await shop.bank_account()
    await world.advance(2)
    payout = await shop.payout(10_000, instant=True, key="instant-1")
    assert (payout.status, payout.fee, payout.method) == (
        P.PAYOUT_STATUS_PAID,
        100,  # 1 % of 10_000
        P.PAYOUT_METHOD_INSTANT,
    )
    assert payout.arrival_date == int(world.clock.now)
    assert await shop.balance() == ({"usd": net - 10_100}, {"usd": 0})
    [row] = [t for t in await shop.transactions() if t.source == payout.id]
    assert (row.type, row.amount, row.fee, row.net) == (
        wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYOUT,
        -10_000,
        100,
        -10_100,
    )
    small = await shop.payout(1000, instant=True)
    assert small.fee == 50  # the minimum
    await shop.assert_identity()
    await shop.assert_clean()
    await shop.close()


async def test_an_instant_payout_can_go_to_a_debit_card_but_not_a_credit_card(
    world: World,
) -> None:
    shop = await world.shop()
    await shop.charge(20_000)
    await world.advance(2)
    debit = await shop.card("4000056655665556")  # a US debit card
    credit = await shop.card("4242424242424242")
    # Registered as the merchant's external card: a payout goes to no other (test_payout_cards).
    await shop.client.payouts.CreatePayoutCard(P.CreatePayoutCardRequest(payment_method=debit))
    paid = await shop.payout(5000, instant=True, destination=debit)
    assert (paid.status, paid.destination) == (P.PAYOUT_STATUS_PAID, debit)
    with pytest.raises(aio.AioRpcError) as raised:
        await shop.payout(5000, instant=True, destination=credit)
    error = rich_error(raised.value)
    assert (error.reason, error.param) == ("PAYOUT_DESTINATION_NOT_EXTERNAL", "destination")
    with pytest.raises(aio.AioRpcError) as raised:
        await shop.payout(5000, destination=debit)
    assert rich_error(raised.value).param == "method"
    await shop.assert_identity()
    await shop.assert_clean()
    await shop.close()


async def test_a_pending_manual_payout_can_be_canceled_once(world: World) -> None:
    shop = await world.shop()
    await shop.charge(10_000)
    net = 10_000 - fee(10_000)
    await shop.bank_account()
    await world.advance(2)
    payout = await shop.payout(4000)
    canceled = await shop.client.payouts.CancelPayout(P.CancelPayoutRequest(id=payout.id))
    assert canceled.status == P.PAYOUT_STATUS_CANCELED
    assert await shop.balance() == ({"usd": net}, {"usd": 0})
    execution = await world.platform.pay_in.executor.get(
        shop.id, (await world.platform.pay_out.reads.payout(shop.id, payout.id)).execution_id
    )
    assert (execution.state, execution.attempt_count) == (ExecutionState.FAILED, 0)
    # The worker finds nothing to send; the bank never hears of it.
    await world.platform.pay_out.payouts.send(
        await world.platform.pay_out.reads.payout(shop.id, payout.id)
    )
    assert await world.platform.pay_in.psp.bank_payout(payout.id) is None
    with pytest.raises(aio.AioRpcError) as raised:
        await shop.client.payouts.CancelPayout(P.CancelPayoutRequest(id=payout.id))
    assert rich_error(raised.value).code == grpc.StatusCode.FAILED_PRECONDITION
    types = [t.type for t in await shop.transactions()]
    assert types.count(wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYOUT_CANCEL) == 1
    await shop.assert_identity()
    await shop.assert_clean()
    await shop.close()
