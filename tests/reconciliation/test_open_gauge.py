"""The open-discrepancies gauge (issue 14: "a metric of open discrepancies by kind") when the
server and the worker are separate processes, as deployed: runs are executed by the worker,
resolutions are made through the server, and the alert takes `max by (kind)` over every
instance. Found by probing: an operator resolved the day's only discrepancy through the server,
but the worker's gauge kept the count of its last run (the alert fired until the next day's
run), and the server's gauge, set at the resolution, went stale once the worker's runs opened or
closed discrepancies after it."""

from __future__ import annotations

from paycore.app import Platform
from paycore.client import Paycore
from paycore.reconciliation.job import daily_reconciliation
from paycore.reconciliation.models import Kind
from paycore.v1 import reconciliation_pb2 as pb

from tests.reconciliation.conftest import Desk
from tests.reconciliation.day import plan_day, unique_past_day

GAUGE = "paycore_reconciliation_open_discrepancies"
NEVER = 24 * 60
"""A daily time the job never reaches: it records no daily runs, it only executes and counts."""


async def test_the_workers_gauge_follows_a_resolution_made_through_the_server(
    desk: Desk, admin: Paycore, platform: Platform
) -> None:
    day = unique_past_day()
    charges = plan_day(desk.merchants, day, 12, 3, seed=11)
    await desk.writer.write(charges)
    plain = [charge for charge in charges if not charge.refunds]
    await desk.alter_report([{"day": day.isoformat(), "action": "drop", "id": plain[0].psp_id}])
    await desk.run(day)  # the worker's run: the desk's registry is the worker's
    opened = desk.open_gauge(Kind.MISSING_AT_PSP.value)
    assert opened is not None and opened >= 1
    [missing] = [d for d in await desk.discrepancies(day) if d.kind is Kind.MISSING_AT_PSP]

    registry = platform.metrics.registry  # the session's server's
    served = {"kind": Kind.MISSING_AT_PSP.value}
    before = registry.get_sample_value(GAUGE, served)
    await admin.reconciliation.ResolveDiscrepancy(
        pb.ResolveDiscrepancyRequest(
            id=missing.id, action=pb.DISCREPANCY_ACTION_WRITE_OFF, resolution="lost at the PSP"
        )
    )
    # The server keeps no count of its own, which the worker's runs would leave stale.
    assert registry.get_sample_value(GAUGE, served) == before

    # The worker's job, passing by with nothing to run, counts again.
    job = daily_reconciliation(desk.reconciliation.runs, daily_at_minutes=NEVER)
    await job.run(desk.reconciliation.home)
    assert desk.open_gauge(Kind.MISSING_AT_PSP.value) == opened - 1
