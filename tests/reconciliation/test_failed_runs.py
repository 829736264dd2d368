"""A run whose day check fails for a reason matching does not know (here a stray transfer into
psp_receivable for one of the day's items, which no discrepancy explains) ends FAILED at once,
with the check's message, instead of staying RUNNING until its lease runs out five times; once
the cause is gone, RunReconciliation of the day again succeeds (docs/reconciliation.md, "A
run")."""

from __future__ import annotations

from paycore.ledger import codes
from paycore.reconciliation.models import RunStatus

from tests.reconciliation.conftest import Desk
from tests.reconciliation.day import Charge, _transfer, plan_day, unique_day

STRAY = 100


async def _stray(desk: Desk, charge: Charge, *, back: bool = False) -> None:
    """STRAY minor units between psp_receivable and balance_pending, sourced on a charge of the
    day (so that the day check counts it); `back` takes them out again."""
    async with desk.platform.shards.transaction(charge.merchant_id) as connection:
        found = await desk.platform.ledger.merchant_accounts(
            connection, charge.merchant_id, charge.currency
        )
    receivable = found[codes.PSP_RECEIVABLE.code].id
    pending = found[codes.BALANCE_PENDING.code].id
    debit, credit = (pending, receivable) if back else (receivable, pending)
    transfer = _transfer(codes.TRANSFER_PAYMENT, debit, credit, STRAY, charge, charge.intent_id)
    outcomes = await desk.platform.ledger.post([([transfer], charge.merchant_id)])
    assert all(outcome.result.ok for outcome in outcomes[0]), outcomes


async def test_a_failed_day_check_fails_the_run_at_once_and_a_new_run_succeeds(
    desk: Desk,
) -> None:
    day = unique_day()
    charges = plan_day(desk.merchants, day, 6, 0, seed=41)
    await desk.writer.write(charges)
    await _stray(desk, charges[0])

    failed_before = desk.runs_finished("psp_settlement", "failed")
    run = await desk.run(day)

    assert run.status is RunStatus.FAILED
    # The operators' alert (PaycoreReconciliationRunFailed) counts it: no daily job retries it.
    assert desk.runs_finished("psp_settlement", "failed") == failed_before + 1
    assert run.finished is not None
    assert "psp_receivable" in run.failure_message
    assert charges[0].merchant_id in run.failure_message
    stored = await desk.reconciliation.get_run(run.id)
    assert (stored.status, stored.failure_message) == (RunStatus.FAILED, run.failure_message)

    # The cause gone (the stray amount taken back), the day run again succeeds.
    await _stray(desk, charges[0], back=True)
    again = await desk.run(day)
    assert again.status is RunStatus.SUCCEEDED, again.failure_message
    assert (again.record_count, again.matched_count, again.discrepancy_count) == (6, 6, 0)
    for receivable in await desk.receivables(day):
        assert receivable.ledger_amount == receivable.open_residual == 0, receivable
    assert all(report.ok for report in await desk.integrity())
