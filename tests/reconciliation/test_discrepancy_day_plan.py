"""The statements that read a day's discrepancies of a source without naming a merchant (what a
rerun no longer finds, the timings the next day's report never carried, the resolutions a rerun
reverses) read them through an index of their own, (source, day), migration 0032: the
key index starts with the merchant and would be read whole. The plan's shape is checked, with
sequential scans priced out (the test's table is small), not a time."""

from __future__ import annotations

import datetime as dt

import pytest
from paycore.app import Platform
from paycore.reconciliation import discrepancies
from paycore.storage.raw import driver_of

INDEX = "reconciliation_discrepancies_day_idx"
DAY = dt.date(2026, 1, 5)


@pytest.mark.parametrize(
    ("statement", "arguments"),
    [
        (discrepancies._UNFOUND, ("psp_settlement", DAY, "recon_x", ["acct_x"], ["k"])),
        (discrepancies._UNARRIVED, ("psp_settlement", DAY)),
        (discrepancies._REOPEN, ("psp_settlement", DAY, "recon_x", ["acct_x"], ["k"])),
    ],
    ids=["unfound", "unarrived", "reopen"],
)
async def test_a_days_discrepancies_are_read_through_their_index(
    platform: Platform, statement: str, arguments: tuple[object, ...]
) -> None:
    async with platform.shards.engines[0].begin() as connection:
        driver = await driver_of(connection)
        await driver.execute("SET LOCAL enable_seqscan = off")
        await driver.execute(
            "CREATE TEMPORARY TABLE recon_lines (merchant_id text, reference text) ON COMMIT DROP"
        )
        rows = await driver.fetch("EXPLAIN " + statement, *arguments)
        await connection.rollback()
    plan = "\n".join(row[0] for row in rows)

    assert INDEX in plan, plan
