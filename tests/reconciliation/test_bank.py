"""The bank's payouts report reconciled against paycore's payouts: a clean day of payments,
refunds and payouts finds nothing in either report; each fault in the bank's report is found
once as a payout_mismatch with both sides' view, the case the bank failed a payout paycore had
paid resolves itself through the payout's lifecycle, the others wait for an operator, whose
actions book once and show in the merchant's balance history."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from paycore.errors import ApiError, Reason
from paycore.reconciliation.models import (
    Action,
    Kind,
    RunStatus,
    Source,
    Status,
)
from paycore.v1 import payout_pb2, wallet_pb2
from paycore.v1 import reconciliation_pb2 as pb

from tests.helpers import PspSimulator
from tests.reconciliation.conftest import BankDesk
from tests.reconciliation.day import plan_day

CHARGES = 8_000
REFUNDS = 1_800
INSTANT = 100
STANDARD = 100
"""8,000 payments, 1,800 refunds and 200 payouts: a day of 10,000 items."""


async def _integrity_ok(desk: BankDesk) -> None:
    for report in await desk.desk.integrity():
        assert report.ok, report


async def test_a_clean_day_of_payments_refunds_and_payouts_has_no_discrepancy(
    bank_desk: BankDesk,
) -> None:
    desk, monday = bank_desk.desk, bank_desk.monday
    await desk.writer.write(plan_day(desk.merchants, monday, CHARGES, REFUNDS, seed=9))
    payouts = []
    for index in range(INSTANT + STANDARD):
        shop = bank_desk.shops[index % len(bank_desk.shops)]
        amount = 1_000 + 37 * index
        if index < INSTANT:
            payouts.append(await bank_desk.instant(shop, amount))
        else:
            payouts.append(await bank_desk.standard(shop, amount))
    wednesday = monday + dt.timedelta(days=2)
    # Thursday morning: Monday's standard payouts arrived on Wednesday, the tracking job saw it.
    await bank_desk.at(wednesday + dt.timedelta(days=1), 3)
    await bank_desk.caught_up(payouts)

    psp = await desk.run(monday)
    sent = await desk.run(monday, Source.BANK_PAYOUTS)
    arrived = await desk.run(wednesday, Source.BANK_PAYOUTS)

    for run in (psp, sent, arrived):
        assert run.status is RunStatus.SUCCEEDED, run.failure_message
        assert (run.discrepancy_count, run.auto_resolved_count) == (0, 0), run
        assert run.matched_count == run.record_count, run
    assert psp.record_count == CHARGES + REFUNDS
    # Monday: every payout submitted, the instant ones paid; Wednesday: the standard ones paid.
    assert sent.record_count == INSTANT + STANDARD + INSTANT
    assert arrived.record_count == STANDARD
    for day in (monday, wednesday):
        assert await desk.discrepancies(day) == []
    for source, day in (
        (Source.PSP_SETTLEMENT, monday),
        (Source.BANK_PAYOUTS, monday),
        (Source.BANK_PAYOUTS, wednesday),
    ):
        receivables = await desk.receivables(day, source)
        assert all(r.ledger_amount == 0 == r.open_residual for r in receivables), receivables
    # Every payout is settled to the day the bank finished it: the instant ones to Monday.
    settled = await bank_desk.count(
        "SELECT count(*) FROM reconciliation_items WHERE source = 'bank_payouts'"
        " AND object_id = ANY($1::text[])",
        payouts,
    )
    assert settled == INSTANT + STANDARD
    await _integrity_ok(bank_desk)

    again = await desk.run(monday, Source.BANK_PAYOUTS)
    assert (again.record_count, again.matched_count, again.discrepancy_count) == (
        sent.record_count,
        sent.matched_count,
        0,
    )


async def test_each_bank_fault_is_found_once_and_resolved_as_documented(
    bank_desk: BankDesk,
) -> None:
    desk, monday = bank_desk.desk, bank_desk.monday
    shop, other = bank_desk.shops
    opened = await desk.open_now()
    dropped, changed, foreign, failed, kept = [
        await bank_desk.instant(shop, 2_000 + index) for index in range(5)
    ]
    elsewhere = await bank_desk.instant(other, 3_000)
    in_transit = await bank_desk.standard(other, 4_000)
    iso = monday.isoformat()
    await desk.psp.set_faults(
        bank_payouts=[
            {"day": iso, "action": "drop", "id": dropped},
            {"day": iso, "action": "amount", "id": changed, "amount": 2_001 + 100},
            {"day": iso, "action": "currency", "id": foreign, "currency": "eur"},
            {"day": iso, "action": "fail", "id": failed, "failure_code": "account_closed"},
            {
                "day": iso,
                "action": "unknown_payout",
                "merchant": other.id,
                "amount": 777,
                "currency": "usd",
            },
        ],
    )
    await bank_desk.at(monday + dt.timedelta(days=1), 2)
    available_before = (await shop.balance())[0]["usd"]

    run = await desk.run(monday, Source.BANK_PAYOUTS)

    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    found = await desk.discrepancies(monday)
    assert all(d.kind is Kind.PAYOUT_MISMATCH and d.source is Source.BANK_PAYOUTS for d in found)
    views = {
        d.object_id: (
            d.merchant_id,
            d.internal_amount,
            d.internal_currency,
            d.internal_status,
            d.psp_amount,
            d.psp_currency,
            d.psp_status,
        )
        for d in found
    }
    assert views == {
        dropped: (shop.id, 2_000, "usd", "paid", 0, "", ""),
        changed: (shop.id, 2_001, "usd", "paid", 2_101, "usd", "paid"),
        foreign: (shop.id, 2_002, "usd", "paid", 2_002, "eur", "paid"),
        failed: (shop.id, 2_003, "usd", "paid", 2_003, "usd", "failed"),
        "": (other.id, 0, "", "", 777, "usd", "paid"),
    }
    by_object = {d.object_id: d for d in found}
    unknown = by_object[""]
    assert unknown.reference.startswith("bpo_") and unknown.object_ids == (unknown.reference,)
    assert by_object[dropped].object_ids == (dropped, by_object[dropped].reference)
    # 6 instant payouts (submitted and paid lines) and the standard one (submitted); less the
    # dropped payout's two lines, plus the unknown's two. Matched: kept, elsewhere, in_transit.
    assert (run.record_count, run.matched_count) == (6 * 2 + 1 - 2 + 2, 2 + 2 + 1)
    assert (run.discrepancy_count, run.auto_resolved_count) == (5, 1)

    # The bank failed a payout paycore had paid: paycore follows it, once.
    auto = by_object[failed]
    assert (auto.status, auto.action) == (Status.RESOLVED, Action.AUTO)
    # The amount back, and the instant payout's fee with it (paycore.payout.lifecycle).
    gone = await shop.get_payout(failed)
    assert gone.fee > 0
    assert len(auto.ledger_transfer_ids) == 2
    assert (gone.status, gone.failure_code) == (payout_pb2.PAYOUT_STATUS_FAILED, "account_closed")
    assert (await shop.balance())[0]["usd"] == available_before + 2_003 + gone.fee
    assert all(d.status is Status.OPEN for d in found if d is not auto)
    for p in (kept, elsewhere, in_transit):
        assert p not in by_object
    receivables = await desk.receivables(monday, Source.BANK_PAYOUTS)
    assert receivables and all(r.ledger_amount == 0 for r in receivables), receivables
    await _integrity_ok(bank_desk)
    assert desk.open_gauge("payout_mismatch") == opened["payout_mismatch"] + 4

    # Running the day again finds the same five, creates and books nothing more.
    again = await desk.run(monday, Source.BANK_PAYOUTS)
    assert (again.record_count, again.matched_count) == (run.record_count, run.matched_count)
    assert (again.discrepancy_count, again.auto_resolved_count) == (5, 1)
    assert [d.id for d in await desk.discrepancies(monday)] == [d.id for d in found]
    failures = await bank_desk.count(
        "SELECT count(*) FROM balance_transactions WHERE payout_id IS NULL AND source = $1"
        " AND type = 'payout_failure'",
        failed,
    )
    assert failures == 1

    # Operators: the dropped payout is failed (paycore follows the bank), the amount is
    # adjusted on the merchant's balance, the rest written off; refund_at_psp does not fit.
    with pytest.raises(ApiError) as unfit:
        await bank_desk.resolve(by_object[changed].id, Action.REFUND_AT_PSP)
    assert unfit.value.reason is Reason.DISCREPANCY_ACTION_UNFIT
    before_adjust = (await shop.balance())[0]["usd"]
    await bank_desk.resolve(by_object[dropped].id, Action.ADJUST)
    failed_by_operator = await shop.get_payout(dropped)
    assert failed_by_operator.status == payout_pb2.PAYOUT_STATUS_FAILED
    adjusted = await bank_desk.resolve(by_object[changed].id, Action.ADJUST)
    returned = 2_000 + failed_by_operator.fee  # the instant payout's fee comes back with it
    assert (await shop.balance())[0]["usd"] == before_adjust + returned - 100
    [row] = [
        t
        for t in await shop.transactions()
        if t.type == wallet_pb2.BALANCE_TRANSACTION_TYPE_ADJUSTMENT
    ]
    assert (row.amount, row.net, row.source) == (-100, -100, adjusted.id)
    assert row.status == wallet_pb2.BALANCE_TRANSACTION_STATUS_AVAILABLE
    written = await bank_desk.resolve(by_object[foreign].id, Action.WRITE_OFF)
    assert len(written.ledger_transfer_ids) == 2  # +usd back, -eur out: one per currency
    await bank_desk.resolve(unknown.id, Action.WRITE_OFF)
    with pytest.raises(ApiError) as twice:
        await bank_desk.resolve(unknown.id, Action.IGNORE)
    assert twice.value.reason is Reason.DISCREPANCY_RESOLVED
    await _integrity_ok(bank_desk)
    await shop.assert_identity()
    assert desk.open_gauge("payout_mismatch") == opened["payout_mismatch"]
    resolved = await desk.discrepancies(monday)
    assert all(d.status is Status.RESOLVED for d in resolved)

    # A run of the day after the operators: the same five, nothing booked again.
    tagged = "SELECT count(*) FROM ledger_transfers WHERE metadata->>'reconciliation' = $1"
    booked = await bank_desk.count(tagged, f"bank_payouts:{iso}")
    assert booked == 1 + 2 + 1  # the adjustment, the write-offs (two currencies, and one)
    last = await desk.run(monday, Source.BANK_PAYOUTS)
    assert (last.discrepancy_count, last.record_count) == (5, run.record_count)
    again_found = await desk.discrepancies(monday)
    assert {d.run_id for d in again_found} == {last.id}
    assert [dataclasses.replace(d, run_id="") for d in again_found] == [
        dataclasses.replace(d, run_id="") for d in resolved
    ]
    assert await bank_desk.count(tagged, f"bank_payouts:{iso}") == booked
    failure_rows = (
        "SELECT count(*) FROM balance_transactions WHERE type = 'payout_failure'"
        " AND source = ANY($1::text[])"
    )
    assert await bank_desk.count(failure_rows, [dropped, failed]) == 2


async def test_bank_runs_and_payout_mismatches_over_grpc(bank_desk: BankDesk) -> None:
    desk, monday, world = bank_desk.desk, bank_desk.monday, bank_desk.world
    shop = bank_desk.shops[0]
    payout_id = await bank_desk.instant(shop, 5_000)
    iso = monday.isoformat()
    await desk.psp.set_faults(
        bank_payouts=[{"day": iso, "action": "amount", "id": payout_id, "amount": 4_900}]
    )
    await bank_desk.at(monday + dt.timedelta(days=1), 2)

    recorded = await world.admin.reconciliation.RunReconciliation(
        pb.RunReconciliationRequest(date=iso, source=pb.RECONCILIATION_SOURCE_BANK_PAYOUTS),
        metadata=(("idempotency-key", f"bank-{iso}"),),
    )
    assert recorded.source == pb.RECONCILIATION_SOURCE_BANK_PAYOUTS
    # The worker's job claims the oldest due run: the session's platform may hold another
    # test's run still due (tests/reconciliation/test_servicer.py leaves some), taken first.
    executed = [await desk.reconciliation.runs.run_due() for _ in range(5)]
    assert recorded.id in [run.id for run in executed if run is not None]
    run = await world.admin.reconciliation.GetReconciliationRun(
        pb.GetReconciliationRunRequest(id=recorded.id)
    )
    assert run.status == pb.RECONCILIATION_RUN_STATUS_SUCCEEDED
    assert (run.settlement_record_count, run.discrepancy_count) == (2, 1)
    listed = await world.admin.reconciliation.ListDiscrepancies(
        pb.ListDiscrepanciesRequest(date=iso, kind=pb.DISCREPANCY_KIND_PAYOUT_MISMATCH)
    )
    [found] = listed.data
    assert (found.object, found.merchant, found.source) == (
        payout_id,
        shop.id,
        pb.RECONCILIATION_SOURCE_BANK_PAYOUTS,
    )
    assert (found.internal_amount, found.psp_amount, found.status) == (
        5_000,
        4_900,
        pb.DISCREPANCY_STATUS_OPEN,
    )
    assert found.psp_reference.startswith("bpo_") and list(found.objects) == [
        payout_id,
        found.psp_reference,
    ]

    before = (await shop.balance())[0]["usd"]
    resolved = await world.admin.reconciliation.ResolveDiscrepancy(
        pb.ResolveDiscrepancyRequest(
            id=found.id, action=pb.DISCREPANCY_ACTION_ADJUST, resolution="the bank paid less"
        ),
        metadata=(("idempotency-key", f"resolve-{found.id}"),),
    )
    assert (resolved.status, len(resolved.ledger_transfers)) == (pb.DISCREPANCY_STATUS_RESOLVED, 1)
    assert (await shop.balance())[0]["usd"] == before + 100
    await _integrity_ok(bank_desk)


@pytest.mark.parametrize(
    "bad",
    [
        [{"day": "2027-03-01", "action": "fee", "id": "po_x", "fee": 1}],  # the PSP's only
        [{"day": "03/01/2027", "action": "drop", "id": "po_x"}],
        [{"day": "2027-03-01", "action": "unknown_payout", "merchant": "acct_x"}],
        [{"day": "2027-03-01", "action": "fail", "id": "po_x", "failure_code": 7}],
        "drop",
    ],
)
async def test_bank_report_faults_are_checked(psp: PspSimulator, bad: object) -> None:
    kept: list[dict[str, object]] = [{"day": "2027-03-01", "action": "fail", "id": "po_x"}]
    assert (await psp.set_faults(bank_payouts=kept))["bank_payouts"] == kept
    status, answer = await psp.post_faults({"bank_payouts": bad})
    assert (status, answer["error"]["param"]) == (400, "bank_payouts")
    assert (await psp.set_faults())["bank_payouts"] == kept  # nothing changed
