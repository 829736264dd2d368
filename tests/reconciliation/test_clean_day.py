"""A clean day: every line of the PSP's report matches paycore's records, the day's settlement
empties psp_receivable for it, and running the day again changes nothing."""

from __future__ import annotations

from paycore.reconciliation.models import RunStatus
from paycore.storage.raw import driver_of

from tests.reconciliation.conftest import Desk
from tests.reconciliation.day import plan_day, unique_day

CHARGES = 8_000
REFUNDS = 2_000


async def _tagged_transfers(desk: Desk, tag: str) -> int:
    count = 0
    for engine in desk.platform.shards.engines:
        async with engine.connect() as connection:
            driver = await driver_of(connection)
            count += await driver.fetchval(
                "SELECT count(*) FROM ledger_transfers WHERE metadata->>'reconciliation' = $1",
                tag,
            )
    return count


async def test_a_clean_day_of_ten_thousand_items_has_no_discrepancy(desk: Desk) -> None:
    day = unique_day()
    charges = plan_day(desk.merchants, day, CHARGES, REFUNDS)
    await desk.writer.write(charges)

    run = await desk.run(day)

    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    assert run.record_count == CHARGES + REFUNDS
    assert run.matched_count == CHARGES + REFUNDS
    assert run.discrepancy_count == 0
    assert await desk.discrepancies(day) == []
    receivables = await desk.receivables(day)
    assert {r.merchant_id for r in receivables} == set(desk.merchants)
    assert all(r.ledger_amount == 0 and r.open_residual == 0 for r in receivables), receivables
    assert all(report.ok for report in await desk.integrity())
    tag = f"psp_settlement:{day.isoformat()}"
    booked = await _tagged_transfers(desk, tag)
    assert booked == 2 * len(desk.merchants)  # the net and the fee, per merchant

    again = await desk.run(day)

    assert (again.record_count, again.matched_count, again.discrepancy_count) == (
        run.record_count,
        run.matched_count,
        0,
    )
    assert await _tagged_transfers(desk, tag) == booked
    assert all(r.ledger_amount == 0 for r in await desk.receivables(day))
