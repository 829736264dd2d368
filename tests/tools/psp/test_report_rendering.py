"""The settlement report rendered by SQLite (the fast path, without faults) is byte for byte
the report rendered line by line in Python (the path the report faults alter)."""

from __future__ import annotations

from pathlib import Path

import pytest
from paycore.tools.psp.settlement import day_bounds_ms, line
from paycore.tools.psp.store import (
    DATABASE_FILE,
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

    assert len(rendered) == 60
    assert rendered == expected
