"""The day check reads every ledger entry of the checked account that the day settled: its
statement must hash the day's settled objects once, not look them up per transfer (a condition
that is not an equality made it a subplan run for each of them: 100,000 lines took 50 s instead
of 3, `paycore bench reconciliation`). The plan's shape is checked, not a time."""

from __future__ import annotations

import datetime as dt

import pytest
from paycore.app import Platform
from paycore.reconciliation.checks import DAY_LEDGER
from paycore.reconciliation.models import Source
from paycore.storage.raw import driver_of


@pytest.mark.parametrize("source", list(Source))
async def test_the_day_check_hashes_the_days_objects(platform: Platform, source: Source) -> None:
    async with platform.shards.engines[0].connect() as connection:
        driver = await driver_of(connection)
        rows = await driver.fetch(
            "EXPLAIN " + DAY_LEDGER[source], source.value, dt.date(2026, 1, 5), ["acct_x"], "tag"
        )
    plan = "\n".join(row[0] for row in rows)

    assert "hashed SubPlan" in plan, plan
