"""A day run again after its report changed (a corrected file, or today's report read again
later) shows each open discrepancy as the report and paycore now have it. A rerun kept the
first run's view of a discrepancy it found again (it only moved the discrepancy to the new
run), so the settled-day check compared psp_receivable with the old difference and failed the
run, and every later run of the day: a charge reported at 7,000 instead of 8,000, then at
6,000, answered "psp_receivable ... holds 2000; its open discrepancies explain 1000" (found by
a black-box probe over gRPC: RunReconciliation, the simulator's amount fault changed between
two runs of today)."""

from __future__ import annotations

from paycore.reconciliation.models import Action, Kind, RunStatus, Status

from tests.reconciliation.chargebacks import books_balance, dated
from tests.reconciliation.conftest import BankDesk


async def test_a_rerun_shows_the_difference_the_report_now_has(bank_desk: BankDesk) -> None:
    desk, monday = bank_desk.desk, bank_desk.monday
    shop = bank_desk.shops[0]
    intent = await shop.charge(8_000)
    await dated(bank_desk, monday)

    def reported_at(amount: int) -> dict[str, object]:
        return {
            "day": monday.isoformat(),
            "action": "amount",
            "id": intent.latest_charge,
            "amount": amount,
        }

    await desk.alter_report([reported_at(7_000)])
    first = await desk.run(monday)
    assert first.status is RunStatus.SUCCEEDED, first.failure_message
    (found,) = await desk.discrepancies(monday)
    assert (found.kind, found.psp_amount) == (Kind.AMOUNT_MISMATCH, 7_000)

    await desk.alter_report([reported_at(6_000)])
    again = await desk.run(monday)

    assert again.status is RunStatus.SUCCEEDED, again.failure_message
    (now,) = await desk.discrepancies(monday)
    assert (now.id, now.status, now.run_id) == (found.id, Status.OPEN, again.id)
    assert (now.internal_amount, now.psp_amount) == (8_000, 6_000)
    resolved = await bank_desk.resolve(now.id, Action.WRITE_OFF)
    assert resolved.status is Status.RESOLVED
    third = await desk.run(monday)
    assert third.status is RunStatus.SUCCEEDED, third.failure_message
    await books_balance(bank_desk)
