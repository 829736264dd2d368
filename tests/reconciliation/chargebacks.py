"""Chargebacks through the platform for reconciliation's dispute tests: a shop's payment (or a
checkout's payment order) disputed with the simulator's dispute cards, the PSP's outcome,
paycore's records dated on the test's day, the operator's resolutions, and the checks every
scenario ends with (the books balance; what a day settled)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from paycore.reconciliation.models import Action, Discrepancy, Resolution
from sqlalchemy import text

from tests.dispute.support import (
    DISPUTE_DELAY_SECONDS,
    disputed_payment,
    order_dispute,
    read_feed,
)
from tests.payout.support import PayoutShop, World
from tests.reconciliation.conftest import BankDesk, Desk


@dataclass
class Chargeback:
    """A disputed payment: `payment_id` the payment intent (pi_) or the checkout's payment
    order (pord_), `dispute_id` paycore's dispute, `psp_dispute` the PSP's (du_)."""

    payment_id: str
    dispute_id: str
    psp_dispute: str
    amount: int


async def chargeback(world: World, shop: PayoutShop, card: str, amount: int) -> Chargeback:
    disputed = await disputed_payment(world, shop, card, amount)
    ((psp_dispute,),) = await world.sql(
        shop.id,
        "SELECT psp_dispute FROM disputes WHERE merchant_id = :m AND id = :d",
        m=shop.id,
        d=disputed.dispute.id,
    )
    return Chargeback(disputed.intent.id, disputed.dispute.id, str(psp_dispute), amount)


async def decide(world: World, chargeback: Chargeback, outcome: str) -> None:
    await world.psp.control(f"disputes/{chargeback.psp_dispute}", {"outcome": outcome})


async def dated(bank: BankDesk, day: dt.date) -> None:
    """paycore's records of the shops' payments and disputes dated at noon of `day`, the day
    the simulator's clock has them on: the database stamps them with its own clock (now()),
    which is not the test's."""
    noon = dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC)
    for shop in bank.shops:
        async with bank.world.platform.shards.transaction(shop.id) as connection:
            await connection.execute(
                text("UPDATE executions SET updated_at = :at WHERE merchant_id = :m"),
                {"at": noon, "m": shop.id},
            )
            await connection.execute(
                text(
                    "UPDATE ledger_transfers SET created_at = :at WHERE merchant_id = :m"
                    " AND code IN ('dispute', 'dispute_reversal')"
                ),
                {"at": noon, "m": shop.id},
            )


async def resolve(desk: Desk, discrepancy: Discrepancy, action: Action) -> None:
    async with desk.reconciliation.engine_of_discrepancy(discrepancy.id).begin() as connection:
        await desk.reconciliation.resolve(
            connection, discrepancy.merchant_id, discrepancy.id, Resolution(action, "a test's")
        )
    await desk.reconciliation.runs.refresh_metrics()


async def books_balance(bank: BankDesk) -> None:
    for report in await bank.desk.integrity():
        assert report.ok, report
    for shop in bank.shops:
        await shop.assert_books_balance()


async def settled_references(bank: BankDesk, day: dt.date) -> set[str]:
    found: set[str] = set()
    for shop in bank.shops:
        rows = await bank.world.sql(
            shop.id,
            "SELECT reference FROM reconciliation_items WHERE merchant_id = :m AND day = :d",
            m=shop.id,
            d=day,
        )
        found |= {str(reference) for (reference,) in rows}
    return found


async def order_chargeback(
    world: World, shop: PayoutShop, seller: str, card: str, amount: int
) -> Chargeback:
    """A checkout of one payment order (pord_) paying `seller`, captured, then disputed."""
    payment = await shop.checkout([(seller, amount)], card=card)
    (order,) = payment.payment_orders
    world.clock.advance(DISPUTE_DELAY_SECONDS + 1)
    await read_feed(world)
    dispute = await order_dispute(shop, order.id)
    ((psp_dispute,),) = await world.sql(
        shop.id,
        "SELECT psp_dispute FROM disputes WHERE merchant_id = :m AND id = :d",
        m=shop.id,
        d=dispute.id,
    )
    return Chargeback(order.id, dispute.id, str(psp_dispute), amount)
