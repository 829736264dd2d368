"""The reconciliation benchmark: one day's PSP settlement report of 1,000,000 lines reconciled
end to end, next to pgbench's TPC-B figure for the same PostgreSQL server.

Self-contained: it creates two databases of its own (two shards), migrates them, writes a
day of business on both sides in bulk (paycore: executions and the ledger's transfers, entries
and balances, set-based SQL; the PSP simulator: its SQLite store), starts the simulator as a
process of its own, and times one run: the report streamed over HTTP, COPYed into staging on
each shard, matched, settled in the ledger, checked (the settled-day invariant), committed.
A few lines are altered through the simulator's report faults, so the run also finds
discrepancies. Then it runs pgbench and drops the databases.

    paycore bench reconciliation --database-url postgresql://postgres@127.0.0.1:5432/postgres
    python -m paycore.tools.bench.reconciliation ...   (the same options)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
from paycore.ids import Prefix, new_id
from paycore.ledger.service import LedgerService
from paycore.reconciliation.build import build_reconciliation
from paycore.reconciliation.models import Run, Source
from paycore.storage import Shards
from paycore.storage.migrate import migrate_all
from paycore.storage.raw import driver_of
from paycore.tools.bench.runner import run_here
from paycore.tools.bench.scratch import pgbench_line, scratch_databases, scratch_settings
from paycore.tools.bench.self_hosted import (
    Ports,
    add_ports_argument,
    add_server_arguments,
    default_ports,
    module_main,
    require_servers,
)
from paycore.tools.psp.settlement import FEE_BASIS_POINTS
from paycore.tools.psp.simulator import stored_control_token
from paycore.tools.psp.store import DATABASE_FILE, Store
from prometheus_client import CollectorRegistry

MERCHANTS = 64
REFUND_EVERY = 10
"""One line in ten is a refund (of the charge just before it)."""
DAY = dt.date(2026, 11, 30)
HEALTHY_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class ReconciliationFigures:
    lines: int
    seconds: float
    matched: int
    discrepancies: int
    auto_resolved: int
    pgbench_tps: float | None

    def lines_text(self) -> list[str]:
        return [
            "paycore bench reconciliation: one day's settlement report, two shards, "
            f"{MERCHANTS} merchants, the simulator in a process of its own",
            f"lines reconciled: {self.lines:,} in {self.seconds:.1f} s"
            f" ({self.lines / self.seconds:,.0f} lines/s)",
            f"matched: {self.matched:,}; discrepancies: {self.discrepancies}"
            f" ({self.auto_resolved} resolved automatically)",
            pgbench_line(self.pgbench_tps),
        ]


# paycore's side, per shard: charges (and every tenth line a refund of the charge before it),
# numbered globally; merchant m owns the lines n with n % MERCHANTS = m.
_EXECUTIONS = """
INSERT INTO executions (merchant_id, id, operation, payment_intent_id, refund_id, amount,
  currency, psp_charge, psp_key, state, attempt_count, psp_reference, metadata, created_at,
  updated_at)
SELECT m.merchant_id, 'exe_b' || n,
       CASE WHEN n % $3 = 0 THEN 'refund' ELSE 'charge' END,
       'pi_b' || CASE WHEN n % $3 = 0 THEN n - 1 ELSE n END,
       CASE WHEN n % $3 = 0 THEN 're_b' || n END,
       CASE WHEN n % $3 = 0 THEN 100 ELSE 1000 + n % 9000 END, 'usd',
       CASE WHEN n % $3 = 0 THEN 'ch_b' || (n - 1) END, 'exe_b' || n, 'succeeded', 1,
       CASE WHEN n % $3 = 0 THEN 'rf_b' || n ELSE 'ch_b' || n END, '{}',
       $4::timestamptz + n * interval '60 ms', $4::timestamptz + n * interval '60 ms'
FROM generate_series(1, $1) n
CROSS JOIN LATERAL (
  SELECT ($2::text[])[(CASE WHEN n % $3 = 0 THEN n - 1 ELSE n END) % $5 + 1] AS merchant_id
) m
WHERE m.merchant_id = ANY($6::text[])
"""
_INTENTS = """
INSERT INTO payment_intents (merchant_id, id, amount, currency, status, capture_method,
  amount_received, psp_charge, metadata, created_at)
SELECT merchant_id, payment_intent_id, amount, currency, 'succeeded', 'automatic', amount,
       psp_reference, '{}', updated_at
FROM executions WHERE operation = 'charge' AND id LIKE 'exe_b%'
"""
# The ledger as pay-in books it: each charge psp_receivable -> balance_pending, each refund
# back; transfers, their two entries each (in order per account, with the balances after
# them), and the accounts' totals.
_TRANSFERS = """
INSERT INTO ledger_transfers (merchant_id, id, kind, debit_account_id, credit_account_id,
  amount, currency, timeout_seconds, code, metadata, status)
SELECT e.merchant_id, 'lt_' || e.id, 'posted',
       CASE e.operation WHEN 'refund' THEN p.id ELSE r.id END,
       CASE e.operation WHEN 'refund' THEN r.id ELSE p.id END,
       e.amount, 'usd', 0, CASE e.operation WHEN 'refund' THEN 'refund' ELSE 'payment' END,
       jsonb_build_object('source', coalesce(e.refund_id, e.payment_intent_id)), 'posted'
FROM executions e
JOIN ledger_accounts r ON r.merchant_id = e.merchant_id AND r.code = 'psp_receivable'
JOIN ledger_accounts p ON p.merchant_id = e.merchant_id AND p.code = 'balance_pending'
WHERE e.id LIKE 'exe_b%'
"""
_ENTRIES = """
INSERT INTO ledger_entries (merchant_id, account_id, sequence, id, transfer_id, kind, is_debit,
  currency, code, posted_delta, pending_delta, debits_posted, credits_posted, debits_pending,
  credits_pending)
SELECT merchant_id, account_id,
       row_number() OVER w - 1, 'le_' || transfer_id || CASE WHEN is_debit THEN 'd' ELSE 'c' END,
       transfer_id, 'posted', is_debit, 'usd', code, amount, 0,
       sum(CASE WHEN is_debit THEN amount ELSE 0 END) OVER w,
       sum(CASE WHEN is_debit THEN 0 ELSE amount END) OVER w, 0, 0
FROM (
  SELECT merchant_id, debit_account_id AS account_id, id AS transfer_id, true AS is_debit,
         code, amount FROM ledger_transfers WHERE id LIKE 'lt_exe_b%'
  UNION ALL
  SELECT merchant_id, credit_account_id, id, false, code, amount
  FROM ledger_transfers WHERE id LIKE 'lt_exe_b%'
) sides
WINDOW w AS (PARTITION BY merchant_id, account_id ORDER BY transfer_id)
"""
_TOTALS = """
UPDATE ledger_accounts a SET debits_posted = t.debits, credits_posted = t.credits,
  entry_count = t.entries
FROM (SELECT merchant_id, account_id,
             coalesce(sum(posted_delta) FILTER (WHERE is_debit), 0) AS debits,
             coalesce(sum(posted_delta) FILTER (WHERE NOT is_debit), 0) AS credits,
             count(*) AS entries
      FROM ledger_entries GROUP BY merchant_id, account_id) t
WHERE a.merchant_id = t.merchant_id AND a.id = t.account_id
"""


def _merchants() -> list[str]:
    # Logical shard l lives on physical shard l % 2: every other merchant on each.
    return [new_id(Prefix.ACCOUNT, logical) for logical in range(MERCHANTS)]


async def _write_paycore(urls: tuple[str, ...], merchants: list[str], lines: int) -> None:
    start = dt.datetime(DAY.year, DAY.month, DAY.day, tzinfo=dt.UTC)
    settings = scratch_settings(urls, "redis://unused")
    shards = Shards(settings)
    ledger = LedgerService(shards)
    try:
        for merchant_id in merchants:
            async with shards.transaction(merchant_id) as connection:
                driver = await driver_of(connection)
                await driver.execute(
                    "INSERT INTO merchants (merchant_id, name, email, country, default_currency,"
                    " livemode, metadata) VALUES ($1, 'Bench', 'b@bench.test', 'US', 'usd',"
                    " false, '{}')",
                    merchant_id,
                )
                await ledger.merchant_accounts(connection, merchant_id, "usd")
    finally:
        await shards.dispose()
    for index, url in enumerate(urls):
        mine = [m for position, m in enumerate(merchants) if position % len(urls) == index]
        connection = await asyncpg.connect(url)
        try:
            # Lines n of this shard's merchants: n % MERCHANTS picks the merchant.
            await connection.execute(
                _EXECUTIONS, lines, merchants, REFUND_EVERY, start, MERCHANTS, mine
            )
            await connection.execute(_INTENTS)
            await connection.execute(_TRANSFERS)
            await connection.execute(_ENTRIES)
            await connection.execute(_TOTALS)
            await connection.execute("ANALYZE")
        finally:
            await connection.close()


def _write_psp(data_dir: Path, merchants: list[str], lines: int) -> None:
    """The simulator's store, as its charges and refunds would have left it."""
    Store(data_dir).close()  # its schema
    start_ms = int(dt.datetime(DAY.year, DAY.month, DAY.day, tzinfo=dt.UTC).timestamp()) * 1000
    connection = sqlite3.connect(data_dir / DATABASE_FILE)
    try:
        charges, refunds = [], []
        for n in range(1, lines + 1):
            at_ms = start_ms + n * 60
            merchant = merchants[n % MERCHANTS]
            if n % REFUND_EVERY == 0:
                refunds.append((f"rf_b{n}", f"ch_b{n - 1}", 100, "usd", "succeeded", at_ms))
                continue
            amount = 1000 + n % 9000
            fee = (amount * FEE_BASIS_POINTS + 5_000) // 10_000
            charges.append(
                (
                    f"ch_b{n}",
                    merchant,
                    f"pi_b{n}",
                    amount,
                    amount,
                    0,
                    "usd",
                    "captured",
                    "",
                    "",
                    "visa",
                    "4242",
                    12,
                    2040,
                    "f" * 32,
                    fee,
                    at_ms,
                    at_ms,
                )
            )
        connection.executemany(f"insert into charges values ({', '.join('?' * 18)})", charges)
        connection.executemany("insert into refunds values (?, ?, ?, ?, ?, ?)", refunds)
        connection.commit()
    finally:
        connection.close()


async def _start_simulator(data_dir: Path, ports: Ports) -> tuple[asyncio.subprocess.Process, str]:
    port = ports.take()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "paycore.cli",
        "psp",
        "--addr",
        f"127.0.0.1:{port}",
        "--data-dir",
        str(data_dir),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + HEALTHY_WAIT_SECONDS
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return process, url
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    process.kill()
    raise RuntimeError("the simulator did not start")


async def _alter(url: str, control_token: str, lines: int) -> None:
    """A handful of faults (the run must find them among the million)."""
    iso = DAY.isoformat()
    alterations = [
        {"day": iso, "action": "drop", "id": "ch_b11"},
        {"day": iso, "action": "amount", "id": "ch_b12", "amount": 1},
        {"day": iso, "action": "duplicate", "id": "ch_b13"},
        {"day": iso, "action": "fee", "id": f"ch_b{lines - 1}", "fee": 0},
    ]
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{url}/_control/faults",
            json={"settlement": alterations},
            headers={"Authorization": f"Bearer {control_token}"},
        ) as response,
    ):
        if response.status != 200:
            raise RuntimeError(await response.text())


async def run_reconciliation_bench(
    database_url: str,
    *,
    lines: int = 1_000_000,
    with_pgbench: bool = True,
    ports: Ports | None = None,
) -> ReconciliationFigures:
    """`ports`: where its simulator listens (default: PAYCORE_BENCH_PORTS, else DEFAULT_PORTS)."""
    async with scratch_databases(database_url) as scratch:
        finished, seconds = await _reconcile(scratch.urls, lines, ports or default_ports())
        pgbench = await scratch.pgbench_tps() if with_pgbench else None
    return ReconciliationFigures(
        lines=finished.record_count,
        seconds=seconds,
        matched=finished.matched_count,
        discrepancies=finished.discrepancy_count,
        auto_resolved=finished.auto_resolved_count,
        pgbench_tps=pgbench,
    )


async def _reconcile(urls: tuple[str, ...], lines: int, ports: Ports) -> tuple[Run, float]:
    """The day's run on fresh databases at `urls` against a simulator serving its report: the
    finished run and the seconds it took."""
    process = None
    try:
        await migrate_all(urls)
        with tempfile.TemporaryDirectory(prefix="pc-recon-") as folder:
            data_dir = Path(folder)
            merchants = _merchants()
            await asyncio.gather(
                _write_paycore(urls, merchants, lines),
                asyncio.to_thread(_write_psp, data_dir, merchants, lines),
            )
            process, psp_url = await _start_simulator(data_dir, ports)
            await _alter(psp_url, stored_control_token(data_dir), lines)
            settings = scratch_settings(urls, "redis://unused", psp_url=psp_url)
            shards = Shards(settings)
            try:
                reconciliation = build_reconciliation(
                    settings, CollectorRegistry(), shards, LedgerService(shards)
                )
                async with reconciliation.home.begin() as connection:
                    requested = await reconciliation.request_run(
                        connection, Source.PSP_SETTLEMENT, DAY
                    )
                started = time.perf_counter()
                finished = await reconciliation.runs.execute(requested)
                seconds = time.perf_counter() - started
            finally:
                await shards.dispose()
            if finished.failure_message:
                raise RuntimeError(finished.failure_message)
            return finished, seconds
    finally:
        if process is not None:
            process.terminate()
            await process.wait()


def add_arguments(parser: argparse.ArgumentParser, database_url: str, redis_url: str) -> None:
    """`redis_url` is unused: a run needs no Redis (the signature every self-hosted bench has)."""
    add_server_arguments(parser, database_url, None)
    add_ports_argument(parser)
    parser.add_argument(
        "--lines", type=int, default=1_000_000, help="settlement lines in the day (1,000,000)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def run_from_arguments(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> None:
    require_servers(parser, arguments)
    if arguments.lines < 100:
        parser.error("--lines must be at least 100")
    logging.basicConfig(format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("paycore.reconciliation").setLevel(logging.INFO)
    figures = run_here(
        run_reconciliation_bench(
            arguments.database_url,
            lines=arguments.lines,
            with_pgbench=not arguments.no_pgbench,
            ports=arguments.ports,
        )
    )
    if arguments.json:
        print(json.dumps(figures.__dict__))
    else:
        print("\n".join(figures.lines_text()))


def main() -> None:
    module_main("paycore.tools.bench.reconciliation", __doc__, add_arguments, run_from_arguments)


if __name__ == "__main__":
    main()
