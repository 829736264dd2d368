"""paycore books a movement after the day's run reported its line missing_in_paycore (or
status_mismatch): the dispute feed catches up late, a lost charge answer is resolved by the
worker, a capture is recorded. The late booking is matched to the day whose report carried it
(settled there, whether the day runs again or the booking's own day runs first), the open
discrepancy closes itself (`auto`, "booked by paycore on ..."), nothing is booked twice, every
run succeeds, and each day's psp_receivable is back to zero (or holds what stays open); once
the operator resolved the line, the late booking is theirs (missing_at_psp). The books balance
after each step."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.reconciliation.models import (
    Action,
    Discrepancy,
    Kind,
    RunStatus,
    Status,
)
from paycore.tools.psp import cards
from sqlalchemy import text

from tests.dispute.support import DISPUTE_DELAY_SECONDS, read_feed
from tests.payout.support import PayoutShop
from tests.reconciliation.chargebacks import (
    books_balance,
    chargeback,
    dated,
    decide,
    resolve,
    settled_references,
)
from tests.reconciliation.conftest import BankDesk, Desk
from tests.reconciliation.day import Charge, Execution, at, plan_day, psp_id, unique_day

RECONCILIATION_TRANSFERS = (
    "SELECT count(*) FROM ledger_transfers"
    " WHERE merchant_id = ANY($1::text[]) AND metadata ? 'reconciliation'"
)


async def _booked_at(bank: BankDesk, shop: PayoutShop, when: dt.datetime) -> None:
    """The shop's dispute transfers stamped at `when` (the database stamps them with its own
    clock, not the test's)."""
    async with bank.world.platform.shards.transaction(shop.id) as connection:
        await connection.execute(
            text(
                "UPDATE ledger_transfers SET created_at = :at WHERE merchant_id = :m"
                " AND code IN ('dispute', 'dispute_reversal')"
            ),
            {"at": when, "m": shop.id},
        )


async def _by_line(desk: Desk, day: dt.date) -> list[Discrepancy]:
    """The day's discrepancies, by line type (dispute, dispute_reversal)."""
    return sorted(await desk.discrepancies(day), key=lambda found: found.line_type)


def _booked_late(discrepancy: Discrepancy, day: dt.date) -> bool:
    return (
        discrepancy.status is Status.RESOLVED
        and discrepancy.action is Action.AUTO
        and discrepancy.note == f"booked by paycore on {day.isoformat()}"
        and discrepancy.ledger_transfer_ids == ()
    )


async def test_disputes_the_feed_brings_after_the_run_settle_to_the_reports_day(
    bank_desk: BankDesk,
) -> None:
    world, desk, monday = bank_desk.world, bank_desk.desk, bank_desk.monday
    tuesday = monday + dt.timedelta(days=1)
    first, second = bank_desk.shops
    # The first shop's chargeback is applied, then won at the PSP: paycore has not read the
    # reinstatement. The second shop's charge is disputed at the PSP: paycore has read nothing.
    won = await chargeback(world, first, cards.CARD_DISPUTE_FRAUDULENT, 12_000)
    unread = await second.pay(cards.CARD_DISPUTE_PRODUCT_NOT_RECEIVED, 8_000)
    world.clock.advance(DISPUTE_DELAY_SECONDS + 1)
    await decide(world, won, "won")  # the simulator opens the second dispute first
    await dated(bank_desk, monday)

    run = await desk.run(monday)

    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    # Two charges, the first dispute's withdrawal and reinstatement, the second's withdrawal.
    assert (run.record_count, run.matched_count, run.discrepancy_count) == (5, 3, 2), run
    withdrawal, reinstatement = await _by_line(desk, monday)
    assert (reinstatement.kind, withdrawal.kind) == (Kind.MISSING_IN_PAYCORE,) * 2
    assert (reinstatement.merchant_id, reinstatement.object_id) == (first.id, won.dispute_id)
    assert reinstatement.reference == f"{won.psp_dispute}:dispute_reversal"
    assert (withdrawal.merchant_id, withdrawal.object_id, withdrawal.line_type) == (
        second.id,
        "",
        "dispute",
    )
    assert withdrawal.psp_amount == 8_000
    await books_balance(bank_desk)
    booked = await bank_desk.count(RECONCILIATION_TRANSFERS, desk.merchants)

    # The feed catches up: the reinstatement is booked on Monday evening, the second shop's
    # dispute (and its withdrawal) after midnight, on Tuesday.
    await read_feed(world)
    ((dispute_id,),) = await world.sql(
        second.id,
        "SELECT id FROM disputes WHERE merchant_id = :m AND payment_intent_id = :p",
        m=second.id,
        p=unread.id,
    )
    await _booked_at(bank_desk, first, dt.datetime.combine(monday, dt.time(22), dt.UTC))
    await _booked_at(bank_desk, second, dt.datetime.combine(tuesday, dt.time(1), dt.UTC))

    # Tuesday's report lacks the withdrawal (the PSP made it on Monday): Tuesday's run settles
    # it to Monday, whose report carried it, and closes Monday's discrepancy.
    next_day = await desk.run(tuesday)
    assert next_day.status is RunStatus.SUCCEEDED, next_day.failure_message
    assert next_day.discrepancy_count == 0, await desk.discrepancies(tuesday)
    assert await desk.discrepancies(tuesday) == []
    withdrawal, reinstatement = await _by_line(desk, monday)
    assert reinstatement.status is Status.OPEN
    assert _booked_late(withdrawal, tuesday), withdrawal
    assert f"{won.psp_dispute}:dispute_reversal" not in await settled_references(bank_desk, monday)
    await books_balance(bank_desk)

    # Monday again: the reinstatement's line finds paycore's transfer; both lines settle to
    # Monday, no discrepancy is open, the day's psp_receivable is back to zero.
    again = await desk.run(monday)
    assert again.status is RunStatus.SUCCEEDED, again.failure_message
    assert (again.record_count, again.matched_count, again.discrepancy_count) == (5, 5, 0)
    withdrawal, reinstatement = await _by_line(desk, monday)
    assert _booked_late(reinstatement, monday), reinstatement
    assert _booked_late(withdrawal, tuesday), withdrawal
    psp_dispute = withdrawal.reference.split(":")[0]
    assert {f"{won.psp_dispute}:dispute_reversal", f"{psp_dispute}:dispute"} <= (
        await settled_references(bank_desk, monday)
    ), dispute_id
    for day in (monday, tuesday):
        receivables = await desk.receivables(day)
        assert all(r.ledger_amount == 0 == r.open_residual for r in receivables), receivables
    # Closed with nothing booked: the ledger already holds paycore's movement once.
    assert await bank_desk.count(RECONCILIATION_TRANSFERS, desk.merchants) == booked
    await books_balance(bank_desk)

    # Each day once more: the same, nothing new.
    for day in (tuesday, monday):
        rerun = await desk.run(day)
        assert rerun.status is RunStatus.SUCCEEDED, rerun.failure_message
        assert rerun.discrepancy_count == 0
    assert [d.status for d in await desk.discrepancies(monday)] == [Status.RESOLVED] * 2
    assert await bank_desk.count(RECONCILIATION_TRANSFERS, desk.merchants) == booked
    await books_balance(bank_desk)


async def _resolve_lost_answer(desk: Desk, lost: Charge, when: dt.datetime) -> None:
    """What the worker's status query finds and the completion applies (as the executor
    records a charge's success: the execution succeeded with the PSP's reference, the intent
    succeeded, the money in the ledger), at `when`."""
    async with desk.platform.shards.transaction(lost.merchant_id) as connection:
        await connection.execute(
            text(
                "UPDATE executions SET state = 'succeeded', psp_reference = :ref,"
                " updated_at = :at WHERE merchant_id = :m AND payment_intent_id = :i"
            ),
            {"ref": lost.psp_id, "at": when, "m": lost.merchant_id, "i": lost.intent_id},
        )
    await _succeeded(desk, lost)


async def _succeeded(desk: Desk, charge: Charge) -> None:
    """The intent succeeded with the PSP's charge, and the money in the ledger (what pay-in's
    completion books for a charge or a capture)."""
    async with desk.platform.shards.transaction(charge.merchant_id) as connection:
        await connection.execute(
            text(
                "UPDATE payment_intents SET status = 'succeeded', psp_charge = :ref,"
                " amount_received = amount WHERE merchant_id = :m AND id = :i"
            ),
            {"ref": charge.psp_id, "m": charge.merchant_id, "i": charge.intent_id},
        )
    await desk.writer.ledger([charge])


async def test_a_lost_charge_answer_resolved_after_the_run_settles_to_the_reports_day(
    desk: Desk,
) -> None:
    day = unique_day()
    next_day = day + dt.timedelta(days=1)
    merchant, other = desk.merchants
    await desk.writer.write(plan_day(desk.merchants, day, 6, 2, seed=5))
    # Three lost answers: the PSP charged, paycore's intents are still processing. The PSP
    # captured 100 more of the third than paycore asked.
    shards = [logical_shard_of(m, Prefix.ACCOUNT) for m in (merchant, other, other)]
    lost_today, lost_overnight, lost_differs = (
        Charge(m, new_id(Prefix.PAYMENT_INTENT, s), psp_id(), amount, "usd", at(day, 3_600))
        for m, s, amount in zip(
            (merchant, other, other), shards, (4_200, 3_100, 2_000), strict=True
        )
    )
    lost = [lost_today, lost_overnight, lost_differs]
    await _answers_lost(desk, lost)
    desk.writer.psp([lost_today, lost_overnight, replace(lost_differs, amount=2_100)])

    run = await desk.run(day)

    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    found = await desk.discrepancies(day)
    assert sorted((d.kind, d.object_id, d.internal_status) for d in found) == sorted(
        (Kind.MISSING_IN_PAYCORE, c.intent_id, "processing") for c in lost
    )
    assert all(report.ok for report in await desk.integrity())

    # The worker resolves one the same evening, the others after midnight.
    await _resolve_lost_answer(desk, lost_today, at(day, 22 * 3_600))
    await _resolve_lost_answer(desk, lost_overnight, at(next_day, 600))
    await _resolve_lost_answer(desk, lost_differs, at(next_day, 700))

    # The next day's report lacks the overnight charges (the PSP made them the day before):
    # its run settles the one that agrees with its line to the day that reported it and
    # closes that day's discrepancy; the other is left to that day's rerun (no discrepancy of
    # the next day either: the PSP did report it, on the day before).
    following = await desk.run(next_day)
    assert following.status is RunStatus.SUCCEEDED, following.failure_message
    assert following.discrepancy_count == 0
    assert await desk.discrepancies(next_day) == []
    by_intent = {d.object_id: d for d in await desk.discrepancies(day)}
    assert _booked_late(by_intent[lost_overnight.intent_id], next_day)
    assert by_intent[lost_today.intent_id].status is Status.OPEN
    assert by_intent[lost_differs.intent_id].status is Status.OPEN
    assert all(report.ok for report in await desk.integrity())

    # The day again: the other charges match their lines; the differing one is the day's
    # amount_mismatch, the rest closed; the day's psp_receivable holds only that difference
    # and the settlement posts nothing more.
    again = await desk.run(day)
    assert again.status is RunStatus.SUCCEEDED, again.failure_message
    assert (again.discrepancy_count, again.matched_count) == (1, run.matched_count + 2)
    by_kind = {(d.kind, d.object_id): d for d in await desk.discrepancies(day)}
    assert _booked_late(by_kind[(Kind.MISSING_IN_PAYCORE, lost_today.intent_id)], day)
    assert _booked_late(by_kind[(Kind.MISSING_IN_PAYCORE, lost_overnight.intent_id)], next_day)
    assert _booked_late(by_kind[(Kind.MISSING_IN_PAYCORE, lost_differs.intent_id)], next_day)
    mismatch = by_kind[(Kind.AMOUNT_MISMATCH, lost_differs.intent_id)]
    assert (mismatch.status, mismatch.internal_amount, mismatch.psp_amount) == (
        Status.OPEN,
        2_000,
        2_100,
    )
    receivables = {r.merchant_id: r for r in await desk.receivables(day)}
    assert receivables[merchant].ledger_amount == 0 == receivables[merchant].open_residual
    assert receivables[other].ledger_amount == -100 == receivables[other].open_residual
    assert all(r.ledger_amount == 0 == r.open_residual for r in await desk.receivables(next_day))
    assert all(report.ok for report in await desk.integrity())
    for checked in (next_day, day):
        assert (await desk.run(checked)).discrepancy_count == (checked == day)
    assert await desk.discrepancies(next_day) == []


async def test_a_capture_paycore_records_after_the_run_closes_the_status_mismatch(
    desk: Desk,
) -> None:
    """The PSP captured a charge paycore had only authorized (status_mismatch); paycore's
    capture is recorded the same evening: the day run again matches it and closes the
    discrepancy, as a lost answer's."""
    day = unique_day()
    merchant = desk.merchants[1]
    await desk.writer.write(plan_day(desk.merchants, day, 4, 0, seed=13))
    shard = logical_shard_of(merchant, Prefix.ACCOUNT)
    authorized = Charge(
        merchant, new_id(Prefix.PAYMENT_INTENT, shard), psp_id(), 6_400, "usd", at(day, 7_200)
    )
    await desk.writer.intents([authorized], status="requires_capture")
    await desk.writer.executions(
        [
            Execution(
                merchant,
                "authorize",
                authorized.intent_id,
                None,
                authorized.amount,
                "usd",
                "",
                "succeeded",
                authorized.psp_id,
                authorized.at,
            )
        ]
    )
    desk.writer.psp([authorized])
    run = await desk.run(day)
    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    (mismatch,) = await desk.discrepancies(day)
    assert (mismatch.kind, mismatch.object_id) == (Kind.STATUS_MISMATCH, authorized.intent_id)

    # paycore captures it at 21:00 (the capture's execution, the intent, the money).
    await desk.writer.executions(
        [
            Execution(
                merchant,
                "capture",
                authorized.intent_id,
                None,
                authorized.amount,
                "usd",
                "",
                "succeeded",
                authorized.psp_id,
                at(day, 21 * 3_600),
            )
        ]
    )
    await _succeeded(desk, authorized)

    again = await desk.run(day)
    assert again.status is RunStatus.SUCCEEDED, again.failure_message
    assert (again.discrepancy_count, again.matched_count) == (0, run.matched_count + 1)
    (closed,) = await desk.discrepancies(day)
    assert _booked_late(closed, day), closed
    receivables = await desk.receivables(day)
    assert all(r.ledger_amount == 0 == r.open_residual for r in receivables), receivables
    assert all(report.ok for report in await desk.integrity())


async def test_a_booking_after_the_operator_resolved_the_line_is_left_to_the_operator(
    desk: Desk,
) -> None:
    """The operator settled a lost answer's line (adjust: the merchant credited with the sale)
    before the worker resolved it: paycore's own booking credits the merchant a second time.
    The line keeps the operator's resolution; paycore's item is reported missing_at_psp on the
    day it was booked (never timing: no later report will carry it), which the operator
    settles; the days run again succeed and find nothing new."""
    day = unique_day()
    next_day = day + dt.timedelta(days=1)
    merchant, other = desk.merchants
    await desk.writer.write(plan_day(desk.merchants, day, 4, 0, seed=9))
    shards = [logical_shard_of(m, Prefix.ACCOUNT) for m in (merchant, other)]
    lost_today, lost_overnight = (
        Charge(m, new_id(Prefix.PAYMENT_INTENT, s), psp_id(), amount, "usd", at(day, 3_600))
        for m, s, amount in zip((merchant, other), shards, (5_200, 2_600), strict=True)
    )
    await _answers_lost(desk, [lost_today, lost_overnight])
    desk.writer.psp([lost_today, lost_overnight])
    run = await desk.run(day)
    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    for found in await desk.discrepancies(day):
        await resolve(desk, found, Action.ADJUST)
    assert all(r.ledger_amount == 0 == r.open_residual for r in await desk.receivables(day))

    await _resolve_lost_answer(desk, lost_today, at(day, 22 * 3_600))
    await _resolve_lost_answer(desk, lost_overnight, at(next_day, 23.5 * 3_600))

    again = await desk.run(day)
    assert again.status is RunStatus.SUCCEEDED, again.failure_message
    following = await desk.run(next_day)
    assert following.status is RunStatus.SUCCEEDED, following.failure_message
    for checked, lost in ((day, lost_today), (next_day, lost_overnight)):
        (twice,) = [
            d for d in await desk.discrepancies(checked) if d.kind is not Kind.MISSING_IN_PAYCORE
        ]
        assert (twice.kind, twice.status, twice.object_id) == (
            Kind.MISSING_AT_PSP,
            Status.OPEN,
            lost.intent_id,
        )
        assert twice.receivable_residual() == {"usd": lost.amount}
        receivables = await desk.receivables(checked)
        assert all(r.ledger_amount == r.open_residual for r in receivables), receivables
        await resolve(desk, twice, Action.ADJUST)
    assert [(d.kind, d.action) for d in await desk.discrepancies(day)] == [
        (Kind.MISSING_AT_PSP, Action.ADJUST),
        (Kind.MISSING_IN_PAYCORE, Action.ADJUST),
        (Kind.MISSING_IN_PAYCORE, Action.ADJUST),
    ]
    assert all(report.ok for report in await desk.integrity())

    for checked in (day, next_day, day):
        rerun = await desk.run(checked)
        assert rerun.status is RunStatus.SUCCEEDED, rerun.failure_message
        receivables = await desk.receivables(checked)
        assert all(r.ledger_amount == 0 == r.open_residual for r in receivables), receivables
    assert len(await desk.discrepancies(day)) == 3
    assert len(await desk.discrepancies(next_day)) == 1
    assert all(report.ok for report in await desk.integrity())


async def _answers_lost(desk: Desk, charges: list[Charge]) -> None:
    """paycore's side of charges whose PSP answer was lost: each intent processing, its
    execution's outcome unknown."""
    await desk.writer.intents(charges, status="processing")
    await desk.writer.executions(
        [
            Execution(
                c.merchant_id,
                "charge",
                c.intent_id,
                None,
                c.amount,
                "usd",
                "",
                "unknown_outcome",
                "",
                c.at,
            )
            for c in charges
        ]
    )
