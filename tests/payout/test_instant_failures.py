"""A failed instant payout gives back its fee with its amount (as Stripe refunds a failed Instant
Payout's fee): the reverse of the fee's ledger transfer (`payout_fee_reversal`) on the failure's
row, exactly once however often the failure is applied; a standard payout's failure is as before.
"""

from __future__ import annotations

from paycore.v1 import payout_pb2, wallet_pb2
from sqlalchemy import text

from tests.payment.shop import fee
from tests.payout.support import (
    COULD_NOT_PROCESS,
    NO_ACCOUNT,
    RETURNED_AFTER_PAID,
    PayoutShop,
    World,
)

P = payout_pb2
W = wallet_pb2


async def _funded(world: World, number: str) -> PayoutShop:
    shop = await world.shop()
    await shop.charge(20_000)
    await shop.bank_account(number)
    await world.advance(2)
    return shop


async def _moved(shop: PayoutShop, payout_id: str) -> list[tuple[str, int, str]]:
    """The ledger transfers sourced by the payout: (code, amount, credit account's code)."""
    rows = await shop.world.sql(
        shop.id,
        "SELECT t.code, t.amount, a.code FROM ledger_transfers t"
        " JOIN ledger_accounts a ON a.merchant_id = t.merchant_id AND a.id = t.credit_account_id"
        " WHERE t.merchant_id = :m AND t.metadata->>'source' = :p ORDER BY t.id",
        m=shop.id,
        p=payout_id,
    )
    return [(str(code), int(amount), str(credit)) for code, amount, credit in rows]  # type: ignore[call-overload]


async def _rows(shop: PayoutShop, payout_id: str) -> list[tuple[int, int, int, int]]:
    """The balance transactions of the payout: (type, amount, fee, net), oldest first."""
    found = [t for t in await shop.transactions() if t.source == payout_id]
    return [(t.type, t.amount, t.fee, t.net) for t in sorted(found, key=lambda t: t.id)]


async def _check_again(shop: PayoutShop, payout_id: str) -> None:
    """The bank's news read again: the payout is due a look by the tracking job once more."""
    world = shop.world
    async with world.platform.shards.transaction(shop.id) as connection:
        await connection.execute(
            text("UPDATE payouts SET next_check_at = :now WHERE merchant_id = :m AND id = :p"),
            {"now": int(world.clock.now), "m": shop.id, "p": payout_id},
        )
    await world.run_jobs()


async def test_an_instant_payout_the_bank_refuses_gives_back_its_amount_and_its_fee(
    world: World,
) -> None:
    shop = await _funded(world, NO_ACCOUNT)
    before = await shop.balance()
    assert before == ({"usd": 20_000 - fee(20_000)}, {"usd": 0})
    payout = await shop.payout(10_000, instant=True, key="instant-refused")
    assert (payout.status, payout.fee, payout.failure_code) == (
        P.PAYOUT_STATUS_FAILED,
        100,
        "no_account",
    )
    assert await shop.balance() == before  # the amount and the fee are back
    assert await _rows(shop, payout.id) == [
        (W.BALANCE_TRANSACTION_TYPE_PAYOUT, -10_000, 100, -10_100),
        (W.BALANCE_TRANSACTION_TYPE_PAYOUT_FAILURE, 10_000, -100, 10_100),
    ]
    [failure] = [
        t
        for t in await shop.transactions()
        if t.source == payout.id and t.type == W.BALANCE_TRANSACTION_TYPE_PAYOUT_FAILURE
    ]
    assert [(line.type, line.amount) for line in failure.fee_details] == [("payout_fee", -100)]
    assert await _moved(shop, payout.id) == [
        ("payout", 10_000, "payouts_in_transit"),
        ("fee", 100, "fees_revenue"),
        ("payout_failure", 10_000, "balance_available"),
        ("payout_fee_reversal", 100, "balance_available"),
    ]
    assert await shop.ledger_balance("fees_revenue") == fee(20_000)  # the charge's fee alone
    # The same request again: its stored answer, nothing moves.
    again = await shop.payout(10_000, instant=True, key="instant-refused")
    assert again == payout
    # The execution's outcome recorded again (a crash after the bank's answer): nothing moves.
    pay_out = world.platform.pay_out
    stored = await pay_out.reads.payout(shop.id, payout.id)
    execution = await world.platform.pay_in.executor.get(shop.id, stored.execution_id)
    async with world.platform.shards.transaction(shop.id) as connection:
        await pay_out.lifecycle.complete(connection, execution)
    assert await shop.balance() == before
    assert len(await _moved(shop, payout.id)) == 4
    await shop.assert_identity()
    await shop.assert_clean()
    # A standard payout that fails gives back its amount, as before: no fee, no reversal.
    await shop.bank_account(COULD_NOT_PROCESS)  # the errored one's replacement
    standard = await shop.payout(5_000, key="standard-fails")
    await pay_out.payouts.send(await pay_out.reads.payout(shop.id, standard.id))  # the worker's
    await world.advance(3)  # failed at its arrival
    failed = await shop.get_payout(standard.id)
    assert (failed.status, failed.fee) == (P.PAYOUT_STATUS_FAILED, 0)
    assert await _rows(shop, standard.id) == [
        (W.BALANCE_TRANSACTION_TYPE_PAYOUT, -5_000, 0, -5_000),
        (W.BALANCE_TRANSACTION_TYPE_PAYOUT_FAILURE, 5_000, 0, 5_000),
    ]
    assert [code for code, _, _ in await _moved(shop, standard.id)] == [
        "payout",
        "payout_failure",
    ]
    assert await shop.balance() == before
    await shop.assert_identity()
    await shop.assert_clean()
    await shop.close()


async def test_an_instant_payout_returned_after_it_was_paid_gives_back_its_fee_once(
    world: World,
) -> None:
    shop = await _funded(world, RETURNED_AFTER_PAID)
    before = await shop.balance()
    payout = await shop.payout(10_000, instant=True, key="instant-returned")
    assert (payout.status, payout.fee) == (P.PAYOUT_STATUS_PAID, 100)
    available = before[0]["usd"] - 10_100
    assert await shop.balance() == ({"usd": available}, {"usd": 0})
    for _ in range(4):  # the bank returns it three days after it was paid
        await world.advance(1)
    returned = await shop.get_payout(payout.id)
    assert (returned.status, returned.failure_code) == (P.PAYOUT_STATUS_FAILED, "account_closed")
    assert await shop.balance() == before
    assert await _rows(shop, payout.id) == [
        (W.BALANCE_TRANSACTION_TYPE_PAYOUT, -10_000, 100, -10_100),
        (W.BALANCE_TRANSACTION_TYPE_PAYOUT_FAILURE, 10_000, -100, 10_100),
    ]
    # The bank's news applied again: the payout is failed already, nothing moves.
    await _check_again(shop, payout.id)
    await _check_again(shop, payout.id)
    assert await shop.balance() == before
    assert await _moved(shop, payout.id) == [
        ("payout", 10_000, "payouts_in_transit"),
        ("fee", 100, "fees_revenue"),
        ("payout", 10_000, "platform_cash"),
        ("payout_failure", 10_000, "balance_available"),
        ("payout_fee_reversal", 100, "balance_available"),
    ]
    assert await shop.ledger_balance("fees_revenue") == fee(20_000)
    await shop.assert_identity()
    await shop.assert_clean()
    await shop.close()
