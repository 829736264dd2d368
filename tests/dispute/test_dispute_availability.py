"""A won dispute's reinstatement is never available before the withdrawal it reverses: the
withdrawal that found no available balance waits (the availability job's rule for a negative
group), and the money given back waits with it, so it cannot be paid out before the charge's
own money could be."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from paycore.tools.psp import cards
from paycore.v1 import dispute_pb2, wallet_pb2

from tests.dispute.support import disputed_payment, read_feed
from tests.helpers import rich_error
from tests.payment.shop import fee
from tests.payout.support import PayoutShop, World

FEE = 1500
AVAILABLE = wallet_pb2.BALANCE_TRANSACTION_STATUS_AVAILABLE
PENDING = wallet_pb2.BALANCE_TRANSACTION_STATUS_PENDING


async def _dispute_rows(
    shop: PayoutShop, dispute_id: str
) -> tuple[wallet_pb2.BalanceTransaction, wallet_pb2.BalanceTransaction]:
    """The dispute's withdrawal and reinstatement."""
    rows = [row for row in await shop.transactions() if row.source == dispute_id]
    [withdrawal] = [row for row in rows if row.net < 0]
    [reinstatement] = [row for row in rows if row.net > 0]
    return withdrawal, reinstatement


async def test_a_reinstatement_waits_for_the_withdrawal_it_reverses(world: World) -> None:
    shop = await world.shop()
    await shop.bank_account()
    disputed = await disputed_payment(world, shop, cards.CARD_DISPUTE_FRAUDULENT, 7_000)
    net = 7_000 - fee(7_000)
    # The withdrawal is due at once but nothing is available to cover it: it waits a day.
    await world.run_jobs()
    assert await shop.balance() == ({"usd": 0}, {"usd": net - 7_000 - FEE})
    [withdrawal] = [row for row in await shop.transactions() if row.source == disputed.dispute.id]
    assert (withdrawal.net, withdrawal.status) == (-(7_000 + FEE), PENDING)
    assert withdrawal.available_on > int(world.clock.now)

    psp_dispute = (
        await world.sql(
            shop.id, "SELECT psp_dispute FROM disputes WHERE merchant_id = :m", m=shop.id
        )
    )[0][0]
    await world.psp.control(f"disputes/{psp_dispute}", {"outcome": "won"})
    await read_feed(world)
    won = await shop.client.disputes.GetDispute(
        dispute_pb2.GetDisputeRequest(id=disputed.dispute.id)
    )
    assert won.status == dispute_pb2.DISPUTE_STATUS_WON
    await world.run_jobs()

    # The money given back takes the withdrawal's day: nothing is available, nothing paid out.
    withdrawal, reinstatement = await _dispute_rows(shop, disputed.dispute.id)
    assert (reinstatement.net, reinstatement.status) == (7_000, PENDING)
    assert withdrawal.status == PENDING
    assert reinstatement.available_on == withdrawal.available_on
    assert await shop.balance() == ({"usd": 0}, {"usd": net - FEE})
    with pytest.raises(aio.AioRpcError) as raised:
        await shop.payout(4_000)
    error = rich_error(raised.value)
    assert (error.code, error.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "BALANCE_INSUFFICIENT",
    )
    await shop.assert_books_balance()

    # Day by day: the reinstatement is never available while its withdrawal is not, and the
    # available balance never goes below zero; once the charge settles, everything does.
    for _ in range(4):
        await world.advance(1)
        withdrawal, reinstatement = await _dispute_rows(shop, disputed.dispute.id)
        assert reinstatement.status == withdrawal.status
        assert reinstatement.available_on == withdrawal.available_on
        assert (await shop.balance())[0]["usd"] >= 0
        await shop.assert_books_balance()
    assert await shop.balance() == ({"usd": net - FEE}, {"usd": 0})
    assert all(row.status == AVAILABLE for row in await shop.transactions())
    paid = await shop.payout(net - FEE)
    assert paid.amount == net - FEE
    await shop.assert_books_balance()
    await shop.close()
