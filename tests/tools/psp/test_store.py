"""What the simulator keeps: across restarts, per settlement day, and never a card number."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from paycore.psp.client import PspClient, PspError, PspTimeout, PspTransientError
from paycore.tools.psp import cards
from paycore.tools.psp.settlement import fee_of
from paycore.tools.psp.simulator import start_simulator
from paycore.tools.psp.store import DATABASE_FILE

from tests.helpers import PspSimulator
from tests.tools.psp.support import card, charge, new_key

DAY = dt.date(2026, 3, 14)
NEXT_DAY = DAY + dt.timedelta(days=1)


class Clock:
    def __init__(self, day: dt.date) -> None:
        self.now = dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC).timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def test_operations_survive_a_restart(tmp_path: Path) -> None:
    server = await start_simulator("127.0.0.1:0", tmp_path)
    client = PspClient(server.url)
    key = new_key()
    try:
        charged = await charge(client, key=key, amount=777)
    finally:
        await client.close()
        await server.close()

    server = await start_simulator("127.0.0.1:0", tmp_path)
    client = PspClient(server.url)
    try:
        assert await client.lookup(key) == charged
        assert await charge(client, key=key, amount=777) == charged
        refund = await client.refund(idempotency_key=new_key(), charge=charged.reference, amount=7)
        assert refund.amount == 7
    finally:
        await client.close()
        await server.close()


def test_fee_rounds_half_up() -> None:
    assert fee_of(1000) == 29
    assert fee_of(50) == 1  # 1.45 -> 1
    assert fee_of(52) == 2  # 1.508 -> 2
    assert fee_of(1) == 0
    assert fee_of(1_000_000) == 29_000
    assert (fee_of(86207), fee_of(86208)) == (2500, 2500)  # 2499.003 and 2500.032
    assert fee_of(17241) == 500  # 499.989 -> 500


async def test_the_settlement_report_of_a_day(tmp_path: Path) -> None:
    clock = Clock(DAY)
    server = await start_simulator("127.0.0.1:0", tmp_path, clock=clock)
    client = PspClient(server.url)
    try:
        captured = await charge(client, amount=1000, reference="pord_a", merchant="acct_a")
        clock.advance(60)
        await charge(client, amount=5000, currency="jpy", reference="pord_b", merchant="acct_b")
        authorized = await charge(client, amount=2000, capture=False, reference="pord_c")
        await charge(client, cards.CARD_DECLINED, amount=300)
        voided = await charge(client, amount=400, capture=False)
        await client.void(idempotency_key=new_key(), charge=voided.reference)
        clock.advance(86_400)  # the next day
        await client.capture(idempotency_key=new_key(), charge=authorized.reference, amount=1500)
        await client.refund(idempotency_key=new_key(), charge=captured.reference, amount=250)

        first = await _report(server.url, DAY)
        second = await _report(server.url, NEXT_DAY)
        assert await _report(server.url, NEXT_DAY + dt.timedelta(days=1)) == []
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{server.url}/v1/settlements/2026-3-1") as response,
        ):
            assert response.status == 400
    finally:
        await client.close()
        await server.close()

    assert [(line["type"], line["reference"], line["amount"]) for line in first] == [
        ("charge", "pord_a", 1000),
        ("charge", "pord_b", 5000),
    ]
    assert first[0]["charge"] == captured.reference and first[0]["merchant"] == "acct_a"
    assert [line["fee"] for line in first] == [29, 145]
    assert [line["net"] for line in first] == [971, 4855]
    assert first[0]["time"] == "2026-03-14T09:00:00.000Z"
    assert [line["currency"] for line in first] == ["usd", "jpy"]
    assert [(line["type"], line["amount"], line["fee"], line["net"]) for line in second] == [
        ("charge", 1500, 44, 1456),
        ("refund", 250, 0, -250),
    ]
    assert second[0]["charge"] == authorized.reference
    assert second[1]["charge"] == captured.reference and second[1]["id"].startswith("rf_")
    assert second[1]["reference"] == "pord_a"

    printed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "paycore.cli", "psp", "settlement", "--date", str(NEXT_DAY),
         "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    assert [json.loads(line) for line in printed.stdout.splitlines()] == second


async def _report(url: str, day: dt.date) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{url}/v1/settlements/{day.isoformat()}") as response,
    ):
        assert response.status == 200
        assert response.content_type == "application/x-ndjson"
        return [json.loads(line) for line in (await response.text()).splitlines()]


ALL_NUMBERS = [
    cards.CARD_SUCCEEDS,
    cards.CARD_DECLINED,
    cards.CARD_INSUFFICIENT_FUNDS,
    cards.CARD_EXPIRED,
    cards.CARD_INCORRECT_CVC,
    cards.CARD_PROCESSING_ERROR,
    cards.CARD_PSP_ERROR,
    cards.CARD_TIMES_OUT,
    cards.CARD_ANSWER_LOST,
    "5555555555554444",
]


async def test_no_card_number_in_the_store_logs_or_errors(
    psp: PspSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = psp.client(timeout_seconds=0.3)
    errors: list[str] = []
    try:
        for number in ALL_NUMBERS:
            key = new_key()
            try:
                result = await charge(client, number, key=key, capture=False)
                errors.append(repr(result))
                if not result.declined:
                    await client.capture(idempotency_key=new_key(), charge=result.reference)
            except (PspTimeout, PspTransientError) as error:
                errors.append(f"{error!r} {error}")
            try:
                await charge(client, number, key=key, amount=1)  # a reused key
            except PspError as error:
                errors.append(f"{error!r} {error}")
        errors.append(repr(card(cards.CARD_SUCCEEDS)))
    finally:
        await client.close()
    await asyncio.sleep(0.35)  # the held answer's log lines, if any

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "POST /v1/charges" in logged  # the access log ran
    stored = _every_stored_value(psp.data_dir / DATABASE_FILE)
    assert "4242" in stored  # last4 is kept
    files = b"".join(path.read_bytes() for path in psp.data_dir.iterdir() if path.is_file())
    for number in ALL_NUMBERS:
        assert number not in logged
        assert number not in stored
        assert number.encode() not in files
        assert all(number not in error for error in errors)


def _every_stored_value(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        tables = [
            name
            for (name,) in connection.execute("select name from sqlite_master where type='table'")
        ]
        assert {"charges", "refunds", "operations"} <= set(tables)
        rows = [
            str(row) for table in tables for row in connection.execute(f"select * from {table}")
        ]
    assert rows
    return "\n".join(rows)
