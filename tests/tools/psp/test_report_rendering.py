"""The settlement report rendered by SQLite (the fast path, without faults) is byte for byte
the report rendered line by line in Python (the path the report faults alter), disputes'
lines included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from paycore.tools.psp.settlement import day_bounds_ms, line
from paycore.tools.psp.store import (
    DATABASE_FILE,
    DISPUTE_REINSTATEMENT,
    DISPUTE_WITHDRAWAL,
    Charge,
    Refund,
    Store,
    settlement_report_lines,
    settlement_rows,
)

from tests.reconciliation.day import unique_day


@pytest.mark.parametrize("seed", range(20))
def test_sqlite_renders_the_report_as_python_does(tmp_path: Path, seed: int) -> None:
    # Days far apart and odd milliseconds: float seconds once rendered some 1 ms early.
    day = unique_day()
    start_ms, end_ms = day_bounds_ms(day)
    store = Store(tmp_path)
    with store.transaction():
        for index in range(50):
            at_ms = start_ms + index * 1_234_567 + index % 3
            store.insert_charge(
                Charge(
                    f"ch_{index:03}",
                    "acct_x",
                    f"pi_{index}",
                    1000 + index,
                    1000 + index,
                    0,
                    "jpy" if index % 2 else "usd",
                    "captured",
                    "",
                    "",
                    "visa",
                    "4242",
                    12,
                    2040,
                    "f" * 32,
                    29 + index,
                    at_ms,
                    at_ms,
                )
            )
            if index % 7 == 0:
                # A chargeback withdrawn the same day; every other one won (reinstated) too.
                dispute_id = f"du_{index:03}"
                store.execute(
                    "insert into disputes values (?, ?, 'needs_response', 'fraudulent', ?,"
                    " '{}', null, '', ?)",
                    (dispute_id, f"ch_{index:03}", at_ms + 10**9, at_ms + 500),
                )
                store.move_dispute_funds(dispute_id, DISPUTE_WITHDRAWAL, at_ms + 500)
                if index % 14 == 0:
                    store.move_dispute_funds(dispute_id, DISPUTE_REINSTATEMENT, at_ms + 777)
            if index % 5 == 0:
                assert store.add_refund(
                    Refund(
                        f"rf_{index:03}",
                        f"ch_{index:03}",
                        10 + index,
                        "usd",
                        "succeeded",
                        at_ms + 999,
                    )
                )
    store.close()
    path = tmp_path / DATABASE_FILE

    rendered = [text for batch in settlement_report_lines(path, start_ms, end_ms) for text in batch]
    expected = [line(row) for batch in settlement_rows(path, start_ms, end_ms) for row in batch]

    # 50 charges, 10 refunds, 8 withdrawals, 4 reinstatements.
    assert len(rendered) == 72
    assert {json.loads(text)["type"] for text in rendered} == {
        "charge",
        "refund",
        "dispute",
        "dispute_reversal",
    }
    assert rendered == expected
