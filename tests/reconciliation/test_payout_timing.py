"""A payout whose bank line and paycore's record fall on either side of midnight: the day that
has paycore's record without the bank's line finds a `timing` difference (never a
payout_mismatch for an operator), which the other day's run closes with nothing booked, in
whichever order the two days run; the payouts_in_transit day check holds on both days after
every run, and the ledger balances.

The bank books a payout at its own time: the simulator's stored payout is moved across
midnight (its submitted and paid lines), paycore's record stays as paycore made it (an instant
payout's arrival is paycore's time of the answer)."""

from __future__ import annotations

import datetime as dt

from paycore.reconciliation.models import Action, Discrepancy, Kind, Run, RunStatus, Source, Status
from paycore.v1 import payout_pb2

from tests.reconciliation.conftest import BankDesk

BANK = Source.BANK_PAYOUTS
LAST_SECONDS = 23 + 59.5 / 60
"""23:59:30, as an hour of the day."""
FIRST_SECONDS = 10 / 3600
"""00:00:10, as an hour of the day."""


def _at(day: dt.date, hour: int, minute: int, second: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=dt.UTC)


def _bank_books(desk: BankDesk, payout_id: str, at: dt.datetime) -> None:
    """The bank submitted and paid `payout_id` at `at` by its own clock (its lines of that
    day)."""
    ms = int(at.timestamp() * 1000)
    store = desk.desk.writer.store
    with store.transaction():
        changed = store.execute(
            "update bank_payouts set submitted_ms = ?, arrival_ms = ?, paid_ms = ?"
            " where reference = ?",
            (ms, ms, ms, payout_id),
        )
    assert changed == 1


async def _run(desk: BankDesk, day: dt.date, days: tuple[dt.date, dt.date]) -> Run:
    """The bank's run of `day`; then both days hold (payouts_in_transit nets to what their open
    discrepancies explain: nothing) and the ledger balances."""
    run = await desk.desk.run(day, BANK)
    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    for checked in days:
        receivables = await desk.desk.receivables(checked, BANK)
        assert all(r.ledger_amount == 0 == r.open_residual for r in receivables), receivables
    for report in await desk.desk.integrity():
        assert report.ok, report
    return run


def _timing(found: list[Discrepancy], payout_id: str) -> Discrepancy:
    assert [(d.kind, d.object_id) for d in found] == [(Kind.TIMING, payout_id)], found
    (timing,) = found
    assert (timing.internal_status, timing.psp_status, timing.psp_amount) == ("paid", "", 0)
    return timing


def _closed_by(timing: Discrepancy, day: dt.date) -> None:
    assert (timing.status, timing.action, timing.ledger_transfer_ids) == (
        Status.RESOLVED,
        Action.AUTO,
        (),
    ), timing
    assert timing.note == f"reported in the {day.isoformat()} report"


async def _booked_once(desk: BankDesk, payout_ids: list[str]) -> None:
    """Every day run again finds nothing new; the payouts stay paid and reconciliation booked
    nothing for them (no resolution transfer, no payout failure)."""
    paid = await desk.count(
        "SELECT count(*) FROM payouts WHERE id = ANY($1::text[]) AND status = 'paid'", payout_ids
    )
    assert paid == len(payout_ids)
    booked = await desk.count(
        "SELECT count(*) FROM ledger_transfers WHERE merchant_id = ANY($1::text[])"
        " AND metadata->>'reconciliation' LIKE 'bank_payouts:%'",
        desk.desk.merchants,
    )
    assert booked == 0
    mismatches = await desk.count(
        "SELECT count(*) FROM reconciliation_discrepancies WHERE object_id = ANY($1::text[])"
        " AND kind <> 'timing'",
        payout_ids,
    )
    assert mismatches == 0


async def test_a_payout_paycore_records_before_midnight_and_the_bank_pays_after(
    bank_desk: BankDesk,
) -> None:
    desk, monday = bank_desk, bank_desk.monday
    tuesday, wednesday, thursday = (monday + dt.timedelta(days=n) for n in (1, 2, 3))
    shop, other = desk.shops
    await desk.at(monday, LAST_SECONDS)
    early = await desk.instant(shop, 4_000)
    _bank_books(desk, early, _at(tuesday, 0, 0, 20))
    await desk.at(wednesday, LAST_SECONDS)
    late = await desk.instant(other, 5_000)
    _bank_books(desk, late, _at(thursday, 0, 0, 20))
    await desk.at(thursday + dt.timedelta(days=1), 3)

    # Paycore's day first: timing, closed by the bank's day.
    run = await _run(desk, monday, (monday, tuesday))
    assert (run.discrepancy_count, run.auto_resolved_count) == (1, 0), run
    timing = _timing(await desk.desk.discrepancies(monday), early)
    assert timing.status is Status.OPEN
    run = await _run(desk, tuesday, (monday, tuesday))
    assert (run.discrepancy_count, run.matched_count) == (0, 2), run
    assert await desk.desk.discrepancies(tuesday) == []
    _closed_by(_timing(await desk.desk.discrepancies(monday), early), tuesday)

    # The bank's day first: it settles the payout, paycore's day does not look for it again.
    run = await _run(desk, thursday, (wednesday, thursday))
    assert (run.discrepancy_count, run.matched_count) == (0, 2), run
    run = await _run(desk, wednesday, (wednesday, thursday))
    assert (run.record_count, run.discrepancy_count) == (0, 0), run
    assert await desk.desk.discrepancies(wednesday) == []

    for day in (monday, tuesday, wednesday, thursday):
        await _run(desk, day, (day - dt.timedelta(days=1), day + dt.timedelta(days=1)))
    _closed_by(_timing(await desk.desk.discrepancies(monday), early), tuesday)
    for day in (tuesday, wednesday, thursday):
        assert await desk.desk.discrepancies(day) == []
    await _booked_once(desk, [early, late])


async def test_a_payout_the_bank_pays_before_midnight_and_paycore_records_after(
    bank_desk: BankDesk,
) -> None:
    desk, monday = bank_desk, bank_desk.monday
    tuesday, wednesday, thursday = (monday + dt.timedelta(days=n) for n in (1, 2, 3))
    shop, other = desk.shops
    await desk.at(tuesday, FIRST_SECONDS)
    early = await desk.instant(shop, 4_000)
    _bank_books(desk, early, _at(monday, 23, 59, 50))
    await desk.at(thursday, FIRST_SECONDS)
    late = await desk.instant(other, 5_000)
    _bank_books(desk, late, _at(wednesday, 23, 59, 50))
    await desk.at(thursday + dt.timedelta(days=1), 3)

    # The bank's day first: it settles the payout, paycore's day does not look for it again.
    run = await _run(desk, monday, (monday, tuesday))
    assert (run.discrepancy_count, run.matched_count) == (0, 2), run
    run = await _run(desk, tuesday, (monday, tuesday))
    assert (run.record_count, run.discrepancy_count) == (0, 0), run
    assert await desk.desk.discrepancies(tuesday) == []

    # Paycore's day first: timing, closed by the bank's day.
    run = await _run(desk, thursday, (wednesday, thursday))
    assert (run.discrepancy_count, run.auto_resolved_count) == (1, 0), run
    timing = _timing(await desk.desk.discrepancies(thursday), late)
    assert timing.status is Status.OPEN
    run = await _run(desk, wednesday, (wednesday, thursday))
    assert (run.discrepancy_count, run.matched_count) == (0, 2), run
    assert await desk.desk.discrepancies(wednesday) == []
    _closed_by(_timing(await desk.desk.discrepancies(thursday), late), wednesday)

    for day in (monday, tuesday, wednesday, thursday):
        await _run(desk, day, (day - dt.timedelta(days=1), day + dt.timedelta(days=1)))
    _closed_by(_timing(await desk.desk.discrepancies(thursday), late), wednesday)
    for day in (monday, tuesday, wednesday):
        assert await desk.desk.discrepancies(day) == []
    await _booked_once(desk, [early, late])


async def test_a_timing_payout_failed_by_an_operator_that_the_bank_then_reports_paid(
    bank_desk: BankDesk,
) -> None:
    """An operator resolves the open timing difference as a missing payout (`adjust`: paycore
    fails it, the money back on the merchant's balance) before the neighbouring day runs; that
    day's `paid` line says the bank paid it after all: the money went out twice, which is a
    payout_mismatch for an operator (not matched, not settled to the day), never hidden."""
    desk, monday = bank_desk, bank_desk.monday
    opened = await desk.desk.open_now()
    tuesday = monday + dt.timedelta(days=1)
    shop = desk.shops[0]
    await desk.at(monday, LAST_SECONDS)
    payout_id = await desk.instant(shop, 4_000)
    _bank_books(desk, payout_id, _at(tuesday, 0, 0, 20))
    await desk.at(tuesday + dt.timedelta(days=1), 3)

    await _run(desk, monday, (monday, tuesday))
    timing = _timing(await desk.desk.discrepancies(monday), payout_id)
    failed = await desk.resolve(timing.id, Action.ADJUST)
    assert (failed.status, failed.action) == (Status.RESOLVED, Action.ADJUST)
    assert (await shop.get_payout(payout_id)).status == payout_pb2.PAYOUT_STATUS_FAILED

    run = await _run(desk, tuesday, (monday, tuesday))
    assert (run.discrepancy_count, run.auto_resolved_count) == (1, 0), run
    (paid_twice,) = await desk.desk.discrepancies(tuesday)
    assert (paid_twice.kind, paid_twice.status, paid_twice.object_id) == (
        Kind.PAYOUT_MISMATCH,
        Status.OPEN,
        payout_id,
    )
    assert (paid_twice.internal_status, paid_twice.psp_status) == ("failed", "paid")
    assert (paid_twice.internal_amount, paid_twice.psp_amount) == (4_000, 4_000)
    assert desk.desk.open_gauge("payout_mismatch") == opened["payout_mismatch"] + 1
    settled = await desk.count(
        "SELECT count(*) FROM reconciliation_items s JOIN payouts p"
        " ON p.merchant_id = s.merchant_id AND p.bank_reference = s.reference WHERE p.id = $1",
        payout_id,
    )
    assert settled == 0
    again = await _run(desk, tuesday, (monday, tuesday))
    assert (again.discrepancy_count, again.auto_resolved_count) == (1, 0), again
    assert [d.id for d in await desk.desk.discrepancies(tuesday)] == [paid_twice.id]

    # The operator takes the payout back out of the merchant's balance: the books agree again.
    before = (await shop.balance())[0]["usd"]
    taken = await desk.resolve(paid_twice.id, Action.ADJUST)
    assert (taken.status, len(taken.ledger_transfer_ids)) == (Status.RESOLVED, 1)
    assert (await shop.balance())[0]["usd"] == before - 4_000
    for report in await desk.desk.integrity():
        assert report.ok, report


async def test_a_payout_the_bank_moved_to_the_next_day_is_timing_at_any_hour(
    bank_desk: BankDesk,
) -> None:
    """The bank's report likewise (its `next_day` fault): a payout paycore and the bank paid at
    noon whose lines the bank reports the next day is `timing` in the day's run (the next day's
    report, so far, has it), not a payout_mismatch; one dropped from the report stays a
    payout_mismatch. The next day's run closes the timing with nothing booked."""
    desk, monday = bank_desk, bank_desk.monday
    tuesday = monday + dt.timedelta(days=1)
    shop, other = desk.shops
    await desk.at(monday, 12)
    moved = await desk.instant(shop, 4_000)
    dropped = await desk.instant(other, 3_000)
    await desk.at(monday, 13)
    iso = monday.isoformat()
    await desk.desk.psp.set_faults(
        bank_payouts=[
            {"day": iso, "action": "next_day", "id": moved},
            {"day": iso, "action": "drop", "id": dropped},
        ]
    )

    run = await _run(desk, monday, (monday, tuesday))
    assert run.discrepancy_count == 2, await desk.desk.discrepancies(monday)
    found = await desk.desk.discrepancies(monday)
    assert sorted((d.kind, d.object_id, d.status) for d in found) == sorted(
        [
            (Kind.TIMING, moved, Status.OPEN),
            (Kind.PAYOUT_MISMATCH, dropped, Status.OPEN),
        ]
    )

    await desk.at(tuesday + dt.timedelta(days=1), 3)
    run = await _run(desk, tuesday, (monday, tuesday))
    assert (run.discrepancy_count, run.matched_count) == (0, 2), run
    after = {d.object_id: d for d in await desk.desk.discrepancies(monday)}
    _closed_by(after[moved], tuesday)
    assert after[dropped].status is Status.OPEN
    await _booked_once(desk, [moved])
