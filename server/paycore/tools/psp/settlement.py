"""The daily settlement report and the fee it carries.

A day is a UTC calendar day. One JSON line per charge captured that day, per refund made
that day and per movement of a dispute's money that day, oldest first:
    {"type": "charge"|"refund"|"dispute"|"dispute_reversal", "id", "charge", "merchant",
     "reference", "amount", "currency", "fee", "net", "time"}
`amount` is positive in all; `net` is what the merchant is paid: amount - fee for a charge,
-amount for a refund (the fee of a refunded charge is not returned, as at Stripe). A dispute
line (`id` the du_) is a chargeback's funds withdrawn, net -amount; a dispute_reversal line
(the same du_) a won chargeback's funds reinstated, net +amount: the disputed charge's
captured amount in its currency, fee 0 (the simulator charges no dispute fee). An inquiry moves
no money and has no line.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from paycore.tools.psp.report_faults import Alteration, altered, moved_from
from paycore.tools.psp.store import (
    DATABASE_FILE,
    DISPUTE_REINSTATEMENT,
    SettlementRow,
    settlement_report_lines,
    settlement_rows,
)

FEE_BASIS_POINTS = 290
"""The simulator's fee on a capture: 2.9 % of the captured amount, in the charge's minor units,
rounded half up (0.5 of a minor unit goes up), with no fixed part so that it means the same in
zero- and three-decimal currencies."""

DAY_MS = 86_400_000


def fee_of(amount: int) -> int:
    """2.9 % of `amount` rounded half up, in integers: (amount * 290 + 5000) // 10000."""
    return (amount * FEE_BASIS_POINTS + 5_000) // 10_000


def parse_day(text: str) -> dt.date:
    """A YYYY-MM-DD date (ValueError otherwise)."""
    if len(text) != 10:
        raise ValueError(f"{text!r} is not YYYY-MM-DD")
    return dt.date.fromisoformat(text)


def day_bounds_ms(day: dt.date) -> tuple[int, int]:
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    start_ms = int(start.timestamp()) * 1000
    return start_ms, start_ms + DAY_MS


def settlement_lines(
    data_dir: Path, day: dt.date, alterations: Sequence[Alteration] = ()
) -> Iterator[list[str]]:
    """The day's report as batches of JSON lines (each without its newline), with the faults
    the tests asked for (paycore.tools.psp.report_faults)."""
    path = data_dir / DATABASE_FILE
    if not path.exists():
        return
    start_ms, end_ms = day_bounds_ms(day)
    if not alterations:
        yield from settlement_report_lines(path, start_ms, end_ms)
        return
    rows = settlement_rows(path, start_ms, end_ms)
    if alterations:
        moving = moved_from(day, alterations)
        moved_in = [
            row
            for batch in settlement_rows(path, start_ms - DAY_MS, start_ms)
            for row in batch
            if any(alteration.applies_to(row) for alteration in moving)
        ]
        rows = altered(day, rows, alterations, moved_in, fee_of)
    for batch in rows:
        yield [line(row) for row in batch]


def line(row: SettlementRow) -> str:
    net = {"charge": row.amount - row.fee, DISPUTE_REINSTATEMENT: row.amount}.get(
        row.type, -row.amount
    )
    # From integers: a float of seconds renders some far-off milliseconds 1 ms early.
    seconds, milliseconds = divmod(row.time_ms, 1000)
    time = dt.datetime.fromtimestamp(seconds, dt.UTC) + dt.timedelta(milliseconds=milliseconds)
    return json.dumps(
        {
            "type": row.type,
            "id": row.id,
            "charge": row.charge,
            "merchant": row.merchant,
            "reference": row.reference,
            "amount": row.amount,
            "currency": row.currency,
            "fee": row.fee,
            "net": net,
            "time": time.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        },
        separators=(",", ":"),
    )
