"""A dispute's money in the simulator's settlement report: a chargeback's withdrawal (an
inquiry's too once it escalates) is a `dispute` line and a won chargeback's reinstatement a
`dispute_reversal` line, shaped as the charge and refund lines are; an inquiry closed and a
lost chargeback's outcome move nothing. The report faults name a dispute's line by its du_
and, when both are on the day, by its type."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from paycore.tools.psp import cards
from paycore.tools.psp.report_faults import parse_alterations
from paycore.tools.psp.settlement import settlement_lines
from paycore.tools.psp.simulator import start_simulator

from tests.helpers import PspSimulator
from tests.tools.psp.support import charge

DAY = dt.date(2030, 6, 3)
MERCHANT = "acct_disputes"


@dataclass
class Clock:
    now: float = dt.datetime(DAY.year, DAY.month, DAY.day, 10, tzinfo=dt.UTC).timestamp()

    def __call__(self) -> float:
        return self.now


@dataclass
class Disputing:
    psp: PspSimulator
    clock: Clock

    async def disputed(self, number: str, amount: int) -> tuple[str, str]:
        """A captured charge of a dispute card, disputed: (ch_, du_)."""
        client = self.psp.client()
        try:
            charged = await charge(
                client, number, amount=amount, merchant=MERCHANT, reference=f"pi_{amount}"
            )
        finally:
            await client.close()
        self.clock.now += 61
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.psp.url}/v1/dispute_events?after=0") as response,
        ):
            events = (await response.json())["data"]
        (dispute,) = {
            e["dispute"]["id"] for e in events if e["dispute"]["charge"] == charged.reference
        }
        return charged.reference, dispute

    async def decide(self, dispute_id: str, outcome: str) -> None:
        self.clock.now += 1
        await self.psp.control(f"disputes/{dispute_id}", {"outcome": outcome})

    def report(
        self, alterations: list[dict[str, Any]] | None = None, day: dt.date = DAY
    ) -> list[dict[str, Any]]:
        parsed = parse_alterations(alterations or [])
        return [
            json.loads(text)
            for batch in settlement_lines(self.psp.data_dir, day, parsed)
            for text in batch
        ]


@pytest_asyncio.fixture
async def disputing(tmp_path: Path) -> AsyncIterator[Disputing]:
    clock = Clock()
    data_dir = tmp_path / "psp"
    server = await start_simulator("127.0.0.1:0", data_dir, hang_seconds=1, clock=clock)
    try:
        yield Disputing(PspSimulator(server, data_dir), clock)
    finally:
        await server.close()


def _dispute_lines(report: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [
        (line["type"], line["id"], line["net"])
        for line in report
        if line["type"] in ("dispute", "dispute_reversal")
    ]


async def test_withdrawals_and_reinstatements_are_lines_of_the_day(
    disputing: Disputing,
) -> None:
    won_charge, won = await disputing.disputed(cards.CARD_DISPUTE_FRAUDULENT, 10_000)
    _, lost = await disputing.disputed(cards.CARD_DISPUTE_PRODUCT_NOT_RECEIVED, 7_000)
    _, inquiry = await disputing.disputed(cards.CARD_DISPUTE_INQUIRY, 4_000)
    _, escalated = await disputing.disputed(cards.CARD_DISPUTE_INQUIRY, 3_000)
    await disputing.decide(won, "won")
    await disputing.decide(lost, "lost")
    await disputing.decide(inquiry, "won")
    await disputing.decide(escalated, "lost")

    report = disputing.report()

    assert [line["type"] for line in report].count("charge") == 4
    assert _dispute_lines(report) == [
        ("dispute", won, -10_000),
        ("dispute", lost, -7_000),
        ("dispute_reversal", won, 10_000),
        ("dispute", escalated, -3_000),
    ]
    withdrawal = next(line for line in report if line["type"] == "dispute")
    assert set(withdrawal) == set(report[0])
    assert withdrawal["charge"] == won_charge
    assert (withdrawal["merchant"], withdrawal["reference"]) == (MERCHANT, "pi_10000")
    assert (withdrawal["amount"], withdrawal["currency"], withdrawal["fee"]) == (10_000, "usd", 0)
    times = [line["time"] for line in report]
    assert times == sorted(times)
    # The faultless report (rendered by SQLite) is what the altered path renders.
    assert report == disputing.report([{"day": "2000-01-01", "action": "drop", "id": won}])


async def test_faults_name_a_dispute_line_by_its_id_and_type(disputing: Disputing) -> None:
    _, won = await disputing.disputed(cards.CARD_DISPUTE_FRAUDULENT, 10_000)
    await disputing.decide(won, "won")
    day = DAY.isoformat()

    dropped = disputing.report(
        [{"day": day, "action": "drop", "id": won, "type": "dispute_reversal"}]
    )
    assert _dispute_lines(dropped) == [("dispute", won, -10_000)]
    both_dropped = disputing.report([{"day": day, "action": "drop", "id": won}])
    assert _dispute_lines(both_dropped) == []
    changed = disputing.report(
        [{"day": day, "action": "amount", "id": won, "type": "dispute", "amount": 9_000}]
    )
    assert [(line["type"], line["amount"]) for line in changed if line["id"] == won] == [
        ("dispute", 9_000),
        ("dispute_reversal", 10_000),
    ]
    repeated = disputing.report(
        [{"day": day, "action": "duplicate", "id": won, "type": "dispute_reversal"}]
    )
    assert _dispute_lines(repeated) == [
        ("dispute", won, -10_000),
        ("dispute_reversal", won, 10_000),
        ("dispute_reversal", won, 10_000),
    ]
    moving = [{"day": day, "action": "next_day", "id": won, "type": "dispute"}]
    assert _dispute_lines(disputing.report(moving)) == [("dispute_reversal", won, 10_000)]
    next_day = disputing.report(moving, DAY + dt.timedelta(days=1))
    assert _dispute_lines(next_day) == [("dispute", won, -10_000)]
    status, answer = await disputing.psp.post_faults(
        {"settlement": [{"day": day, "action": "drop", "id": won, "type": "payout"}]}
    )
    assert status == 400 and answer["error"]["param"] == "settlement", answer
