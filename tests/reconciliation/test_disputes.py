"""Disputes in the PSP's settlement report, reconciled against the ledger: chargebacks made
through the platform (a shop on each physical shard, the simulator's dispute cards), their
withdrawals and reinstatements reported as `dispute` and `dispute_reversal` lines and matched
with paycore's transfers of them into and out of psp_receivable. A won and a lost chargeback
(and an inquiry, which moves nothing) reconcile clean; a reinstatement paycore has not booked
and a withdrawal the report lacks are each one discrepancy naming the dispute, which the
operator's actions settle; a converted charge's chargeback reconciles in the charge's
currency; a checkout's payment orders' chargebacks reconcile as an intent's; the books balance
after each."""

from __future__ import annotations

from pathlib import Path

from paycore.reconciliation.models import (
    Action,
    DayReceivable,
    Kind,
    Run,
    RunStatus,
    Source,
    Status,
)
from paycore.tools.psp import cards

from tests.currency.support import import_ecb, settle_in
from tests.dispute.support import (
    DISPUTE_DELAY_SECONDS,
    disputed_payment,
    pending,
    read_feed,
)
from tests.payout.support import World
from tests.reconciliation.chargebacks import (
    Chargeback,
    books_balance,
    chargeback,
    dated,
    decide,
    order_chargeback,
    resolve,
    settled_references,
)
from tests.reconciliation.conftest import BankDesk


async def test_a_won_and_a_lost_chargeback_reconcile_clean(bank_desk: BankDesk) -> None:
    world, desk, monday = bank_desk.world, bank_desk.desk, bank_desk.monday
    first, second = bank_desk.shops
    won = await chargeback(world, first, cards.CARD_DISPUTE_FRAUDULENT, 10_000)
    lost = await chargeback(world, second, cards.CARD_DISPUTE_PRODUCT_NOT_RECEIVED, 7_000)
    await disputed_payment(world, first, cards.CARD_DISPUTE_INQUIRY, 4_000)
    await decide(world, won, "won")
    await decide(world, lost, "lost")
    await read_feed(world)
    await dated(bank_desk, monday)

    run = await desk.run(monday)

    # Three charges; the won chargeback's withdrawal and reinstatement, the lost one's
    # withdrawal; the inquiry moved no money.
    receivables = await _settled_clean(bank_desk, run, 6, won, lost)
    await books_balance(bank_desk)

    again = await desk.run(monday)
    assert (again.record_count, again.matched_count, again.discrepancy_count) == (6, 6, 0)
    assert await desk.receivables(monday) == receivables
    await books_balance(bank_desk)


async def test_a_reinstatement_paycore_lacks_and_a_withdrawal_the_report_lacks(
    bank_desk: BankDesk,
) -> None:
    world, desk, monday = bank_desk.world, bank_desk.desk, bank_desk.monday
    first, second = bank_desk.shops
    unbooked = await chargeback(world, first, cards.CARD_DISPUTE_FRAUDULENT, 12_000)
    unreported = await chargeback(world, second, cards.CARD_DISPUTE_DUPLICATE, 5_000)
    # The PSP reinstates the first; paycore has not read the feed since.
    await decide(world, unbooked, "won")
    await desk.alter_report(
        [
            {
                "day": monday.isoformat(),
                "action": "drop",
                "id": unreported.psp_dispute,
                "type": "dispute",
            }
        ]
    )
    await dated(bank_desk, monday)

    run = await desk.run(monday)

    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    # Two charges, the first dispute's withdrawal and reinstatement (the second's dropped).
    assert (run.record_count, run.matched_count, run.discrepancy_count) == (4, 3, 2), run
    missing_at_psp, missing_in_paycore = await desk.discrepancies(monday)
    assert missing_in_paycore.kind is Kind.MISSING_IN_PAYCORE
    assert (missing_in_paycore.merchant_id, missing_in_paycore.object_id) == (
        first.id,
        unbooked.dispute_id,
    )
    assert missing_in_paycore.line_type == "dispute_reversal"
    assert missing_in_paycore.reference == f"{unbooked.psp_dispute}:dispute_reversal"
    assert (missing_in_paycore.psp_amount, missing_in_paycore.psp_currency) == (12_000, "usd")
    assert (missing_in_paycore.internal_amount, missing_in_paycore.internal_status) == (
        0,
        "needs_response",
    )
    assert missing_in_paycore.receivable_residual() == {"usd": -12_000}

    assert missing_at_psp.kind is Kind.MISSING_AT_PSP
    assert (missing_at_psp.merchant_id, missing_at_psp.object_id) == (
        second.id,
        unreported.dispute_id,
    )
    assert missing_at_psp.line_type == "dispute"
    assert missing_at_psp.reference == f"{unreported.psp_dispute}:dispute"
    assert (missing_at_psp.internal_amount, missing_at_psp.internal_currency) == (5_000, "usd")
    assert missing_at_psp.psp_amount == 0
    assert missing_at_psp.receivable_residual() == {"usd": -5_000}

    # What each merchant's psp_receivable holds for the day is what its discrepancy explains.
    receivables = {r.merchant_id: r for r in await desk.receivables(monday, Source.PSP_SETTLEMENT)}
    assert receivables[first.id].ledger_amount == receivables[first.id].open_residual == -12_000
    assert receivables[second.id].ledger_amount == receivables[second.id].open_residual == -5_000
    await books_balance(bank_desk)

    # The operator settles both: the first shop's balance follows the PSP (it reinstated the
    # amount), the second's withdrawal the PSP never netted is written off.
    before = await pending(first)
    await resolve(desk, missing_in_paycore, Action.ADJUST)
    await resolve(desk, missing_at_psp, Action.WRITE_OFF)
    assert await pending(first) == before + 12_000
    settled = await desk.receivables(monday)
    assert all(r.ledger_amount == 0 == r.open_residual for r in settled), settled
    assert all(d.status is Status.RESOLVED for d in await desk.discrepancies(monday))
    await books_balance(bank_desk)


async def test_a_converted_chargeback_reconciles_in_the_charges_currency(
    bank_desk: BankDesk, fx_world: World, tmp_path: Path
) -> None:
    """A JPY charge to a USD-settling shop, disputed and won: the PSP's lines are in yen, and
    so are paycore's transfers into and out of psp_receivable (against FX clearing)."""
    world, desk, monday = fx_world, bank_desk.desk, bank_desk.monday
    shop = bank_desk.shops[1]
    await settle_in(shop, "usd")
    rates = f"Date, USD, JPY,\n{monday:%d %B %Y}, 1.2000, 150.00,\n"
    assert await import_ecb(world, tmp_path / "eurofxref.csv", rates) > 0
    intent = await shop.pay(cards.CARD_DISPUTE_FRAUDULENT, 3_333, "jpy")
    world.clock.advance(DISPUTE_DELAY_SECONDS + 1)
    await read_feed(world)
    ((dispute_id, psp_dispute, currency),) = await world.sql(
        shop.id,
        "SELECT id, psp_dispute, currency FROM disputes"
        " WHERE merchant_id = :m AND payment_intent_id = :p",
        m=shop.id,
        p=intent.id,
    )
    assert currency == "jpy"
    won = Chargeback(intent.id, str(dispute_id), str(psp_dispute), 3_333)
    await decide(world, won, "won")
    await read_feed(world)
    await dated(bank_desk, monday)

    run = await desk.run(monday)

    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    assert (run.record_count, run.matched_count, run.discrepancy_count) == (3, 3, 0), run
    receivables = await desk.receivables(monday)
    assert {r.currency for r in receivables} == {"jpy"}
    assert all(r.ledger_amount == 0 == r.open_residual for r in receivables), receivables
    assert {f"{won.psp_dispute}:dispute", f"{won.psp_dispute}:dispute_reversal"} <= (
        await settled_references(bank_desk, monday)
    )
    for books in ("usd", "jpy"):
        await shop.assert_books_balance(books)
    await books_balance(bank_desk)


async def test_a_checkout_orders_won_and_lost_chargebacks_reconcile_clean(
    bank_desk: BankDesk,
) -> None:
    """A payment order's chargeback (its seller's, over the order's own PSP charge) is
    reported and matched as a payment intent's: the order's charge, the withdrawal and the
    reinstatement of the won one, the withdrawal of the lost one."""
    world, desk, monday = bank_desk.world, bank_desk.desk, bank_desk.monday
    first, second = bank_desk.shops
    kiln, loom = await first.seller("Kiln"), await second.seller("Loom")
    won = await order_chargeback(world, first, kiln, cards.CARD_DISPUTE_FRAUDULENT, 9_000)
    lost = await order_chargeback(
        world, second, loom, cards.CARD_DISPUTE_PRODUCT_NOT_RECEIVED, 6_000
    )
    assert won.payment_id.startswith("pord_") and lost.payment_id.startswith("pord_")
    await decide(world, won, "won")
    await decide(world, lost, "lost")
    await read_feed(world)
    await dated(bank_desk, monday)

    run = await desk.run(monday)

    # Two orders' charges; the won chargeback's withdrawal and reinstatement, the lost one's
    # withdrawal.
    receivables = await _settled_clean(bank_desk, run, 5, won, lost)
    # Each order's charge settled as the order, each movement as its dispute.
    for shop, disputed in ((first, won), (second, lost)):
        rows = await world.sql(
            shop.id,
            "SELECT reference, object_id FROM reconciliation_items WHERE merchant_id = :m"
            " AND day = :d",
            m=shop.id,
            d=monday,
        )
        objects = {str(reference): str(object_id) for reference, object_id in rows}
        assert disputed.payment_id in objects.values(), objects
        assert objects[f"{disputed.psp_dispute}:dispute"] == disputed.dispute_id
    await books_balance(bank_desk)
    await first.assert_identity(kiln)
    await second.assert_identity(loom)

    again = await desk.run(monday)
    assert (again.record_count, again.matched_count, again.discrepancy_count) == (5, 5, 0)
    assert await desk.receivables(monday) == receivables
    await books_balance(bank_desk)


async def _settled_clean(
    bank_desk: BankDesk, run: Run, lines: int, won: Chargeback, lost: Chargeback
) -> list[DayReceivable]:
    """`run` of the desk's Monday matched all its `lines`, left nothing open and the day's
    psp_receivable at zero, and settled the won chargeback's two movements and the lost one's
    withdrawal; the day's receivables."""
    desk, monday = bank_desk.desk, bank_desk.monday
    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    assert (run.record_count, run.matched_count) == (lines, lines), run
    assert (run.discrepancy_count, run.auto_resolved_count) == (0, 0), run
    assert await desk.discrepancies(monday) == []
    receivables = await desk.receivables(monday)
    assert receivables and all(r.ledger_amount == 0 == r.open_residual for r in receivables)
    settled = await settled_references(bank_desk, monday)
    assert {reference for reference in settled if reference.startswith("du_")} == {
        f"{won.psp_dispute}:dispute",
        f"{won.psp_dispute}:dispute_reversal",
        f"{lost.psp_dispute}:dispute",
    }
    return receivables
