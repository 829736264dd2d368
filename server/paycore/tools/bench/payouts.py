"""The pay-out benchmark: the availability job's balance transactions/s, and how long the
scheduler takes to create and send the daily payouts of many merchants, next to pgbench's
TPC-B figure for the same PostgreSQL server.

Self-contained: it creates two databases of its own on the server (two shards), migrates them,
starts the PSP/bank simulator as a process of its own, seeds the merchants straight through the
storage and the ledger (merchants, bank accounts, daily schedules, one ledger credit and one
pending balance transaction per payment, already due), then measures, in this process:

  1. availability: the balance_availability job on both shards at once (two workers per
     shard) until nothing is due: balance transactions moved per second;
  2. scheduler: the payout_scheduling job (four workers per shard) until every schedule has
     run: each merchant's payout created (ledger, balance transactions swept, event,
     execution) and sent to the bank through the executor, which answers in transit;

then checks that there is exactly one payout per merchant, each in transit and at the bank,
that the swept rows add up, and that the ledger is intact; and drops the databases.

    paycore bench payouts --database-url postgresql://postgres@127.0.0.1:5432/postgres
    python -m paycore.tools.bench.payouts ...   (the same options)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from paycore.app import Platform, build_platform
from paycore.customer.vault import Vault
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.ledger import codes
from paycore.ledger.models import TransferRequest
from paycore.payout.calendar import day_of
from paycore.payout.models import BalanceType
from paycore.payout.repository import BalanceTransactionRepository
from paycore.runtime.process import split_address
from paycore.secret import Secret
from paycore.storage.migrate import migrate_all
from paycore.storage.schema import bank_accounts, ledger_accounts, merchants, payout_schedules
from paycore.tools.bench.scratch import pgbench_line, scratch_databases, scratch_settings
from paycore.tools.bench.self_hosted import (
    Ports,
    add_ports_argument,
    add_server_arguments,
    default_ports,
    module_main,
    run_and_print,
)
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert

SEED_BATCH = 1000
AVAILABILITY_WORKERS_PER_SHARD = 2
SCHEDULER_WORKERS_PER_SHARD = 2
SCHEDULER_BATCH = 100
ROUTING = "110000000"
ACCOUNT_NUMBER = "000123456789"
DAY = 86_400
_ACCOUNT_SPECS = (
    codes.BALANCE_PENDING,
    codes.BALANCE_AVAILABLE,
    codes.PAYOUTS_IN_TRANSIT,
    codes.PSP_RECEIVABLE,
    codes.FEES_REVENUE,
    codes.PLATFORM_CASH,
)


@dataclass(frozen=True)
class PayoutFigures:
    merchants: int
    rows: int
    availability_seconds: float
    scheduler_seconds: float
    payouts: int
    at_bank: int
    pgbench_tps: float | None

    def lines(self) -> list[str]:
        return [
            f"configuration: {self.merchants:,} merchants, {self.rows:,} due balance transactions,"
            f" two shards, one process ({AVAILABILITY_WORKERS_PER_SHARD} availability and"
            f" {SCHEDULER_WORKERS_PER_SHARD} scheduler workers per shard), the bank simulator in a"
            f" process of its own, {os.cpu_count()} cores,"
            f" load {os.getloadavg()[0]:.2f} at the end",
            f"availability job: {self.rows / self.availability_seconds:,.0f} balance transactions/s"
            f" ({self.rows:,} in {self.availability_seconds:.1f} s)",
            f"scheduler: {self.payouts:,} daily payouts created and sent in"
            f" {self.scheduler_seconds:.1f} s ({self.payouts / self.scheduler_seconds:,.0f}/s),"
            f" {self.at_bank:,} at the bank",
            pgbench_line(self.pgbench_tps),
        ]


async def _seed(
    platform: Platform, merchant_count: int, rows_per_merchant: int, now: int
) -> list[str]:
    """Merchants with a default bank account, a daily schedule due today, and
    `rows_per_merchant` captured payments each: a ledger credit to balance_pending and its
    pending balance transaction, due yesterday."""
    shards = platform.shards
    vault = Vault.from_setting(platform.settings.vault_key)
    book = platform.pay_out.book
    today = day_of(now)
    merchant_ids = [
        new_id(Prefix.ACCOUNT, shards.logical_shard_for_new_merchant())
        for _ in range(merchant_count)
    ]
    for start in range(0, merchant_count, SEED_BATCH):
        chunk = merchant_ids[start : start + SEED_BATCH]
        by_engine: dict[int, list[str]] = {}
        for merchant_id in chunk:
            by_engine.setdefault(id(shards.engine_for_merchant(merchant_id)), []).append(
                merchant_id
            )
        for ids in by_engine.values():
            async with shards.transaction(ids[0]) as connection:
                await connection.execute(
                    insert(merchants),
                    [
                        {
                            "merchant_id": merchant_id,
                            "name": "Bench",
                            "email": "bench@paycore.test",
                            "country": "US",
                            "default_currency": "usd",
                            "livemode": False,
                            "metadata": {},
                        }
                        for merchant_id in ids
                    ],
                )
                bank_rows = []
                for merchant_id in ids:
                    bank_account_id = new_id(
                        Prefix.BANK_ACCOUNT, logical_shard_of(merchant_id, Prefix.ACCOUNT)
                    )
                    bank_rows.append(
                        {
                            "merchant_id": merchant_id,
                            "id": bank_account_id,
                            "account": "",
                            "country": "US",
                            "currency": "usd",
                            "account_holder_name": "Bench",
                            "account_holder_type": "company",
                            "bank_name": "",
                            "routing_number": ROUTING,
                            "last4": ACCOUNT_NUMBER[-4:],
                            "fingerprint": "bench",
                            "number_sealed": vault.seal(
                                Secret(ACCOUNT_NUMBER), merchant_id, bank_account_id
                            ),
                            "status": "new",
                            "default_for_currency": True,
                            "instant_supported": True,
                            "created": now,
                            "metadata": {},
                        }
                    )
                await connection.execute(insert(bank_accounts), bank_rows)
                await connection.execute(
                    insert(payout_schedules),
                    [
                        {
                            "merchant_id": merchant_id,
                            "account": "",
                            "interval": "daily",
                            "delay_days": 2,
                            "weekly_anchor": 1,
                            "monthly_anchor": 1,
                            "minimum_amounts": {},
                            "next_run_on": today,
                            "updated": now,
                        }
                        for merchant_id in ids
                    ],
                )
                await connection.execute(
                    insert(ledger_accounts),
                    [
                        {
                            "merchant_id": merchant_id,
                            "id": new_id(
                                Prefix.LEDGER_ACCOUNT, logical_shard_of(merchant_id, Prefix.ACCOUNT)
                            ),
                            "code": spec.code,
                            "type": spec.type.value,
                            "currency": "usd",
                            "debits_must_not_exceed_credits": spec.debits_must_not_exceed_credits,
                            "credits_must_not_exceed_debits": spec.credits_must_not_exceed_debits,
                            "metadata": {},
                        }
                        for merchant_id in ids
                        for spec in _ACCOUNT_SPECS
                    ],
                )
                keys = [(merchant_id, "", "usd") for merchant_id in ids]
                every = await book.accounts_many(connection, keys)
                transfers: list[TransferRequest] = []
                balance_rows = []
                for merchant_id in ids:
                    accounts = every[merchant_id, "", "usd"]
                    for index in range(rows_per_merchant):
                        transfer = book.transfer(
                            merchant_id,
                            codes.TRANSFER_PAYMENT,
                            debit=accounts.psp_receivable,
                            credit=accounts.pending,
                            amount=1000 + index,
                            currency="usd",
                            source=f"pi_bench_{index}",
                        )
                        transfers.append(transfer)
                        row = book.row(merchant_id, "", transfer, BalanceType.PAYMENT, 1000 + index)
                        balance_rows.append({**row, "available_on": now - DAY})
                await book.post_each(connection, transfers)
                await BalanceTransactionRepository(connection).insert(balance_rows)
    return merchant_ids


async def _workers(
    count: int, engines: list[object], work: Callable[[object], Awaitable[int]]
) -> None:
    async def worker(engine: object) -> None:
        while await work(engine):
            pass

    await asyncio.gather(*(worker(engine) for engine in engines for _ in range(count)))


async def _measure(
    database_urls: tuple[str, ...],
    redis_url: str,
    psp_url: str,
    merchant_count: int,
    rows_per_merchant: int,
) -> tuple[float, float, int, int]:
    settings = scratch_settings(
        database_urls, redis_url, database_pool_size=6, psp_url=psp_url, psp_timeout_ms=10_000
    )
    await migrate_all(database_urls)
    platform = build_platform(settings, CollectorRegistry())
    try:
        now = int(time.time())
        merchant_ids = await _seed(platform, merchant_count, rows_per_merchant, now)
        engines: list[object] = list(platform.shards.engines)
        pay_out = platform.pay_out

        started = time.perf_counter()
        await _workers(
            AVAILABILITY_WORKERS_PER_SHARD,
            engines,
            lambda engine: pay_out.availability.run(engine),  # type: ignore[arg-type]
        )
        availability_seconds = time.perf_counter() - started

        started = time.perf_counter()
        await _workers(
            SCHEDULER_WORKERS_PER_SHARD,
            engines,
            lambda engine: pay_out.scheduler.run(engine, SCHEDULER_BATCH),  # type: ignore[arg-type]
        )
        scheduler_seconds = time.perf_counter() - started

        payouts = in_transit = 0
        for engine in platform.shards.engines:
            async with engine.connect() as connection:
                found = (
                    await connection.execute(
                        text(
                            "select count(*), count(*) filter (where status = 'in_transit'),"
                            " count(distinct merchant_id) from payouts"
                        )
                    )
                ).one()
                payouts += int(found[0])
                in_transit += int(found[1])
                if int(found[2]) != int(found[0]):
                    raise RuntimeError("a merchant has more than one payout")
        if payouts != merchant_count or in_transit != payouts:
            raise RuntimeError(
                f"{payouts} payouts, {in_transit} in transit, {merchant_count} merchants"
            )
        for merchant_id in merchant_ids[:: max(1, merchant_count // 20)]:
            report = await platform.ledger.check_integrity(merchant_id, "usd")
            if not report.ok:
                raise RuntimeError(f"integrity check failed for {merchant_id}: {report}")
        return availability_seconds, scheduler_seconds, payouts, in_transit
    finally:
        await platform.close()


async def _start_bank(data_dir: Path, ports: Ports) -> tuple[asyncio.subprocess.Process, str]:
    address = ports.address()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "paycore.cli", "psp", "--addr", address, "--data-dir", str(data_dir),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    host, port = split_address(address)
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            return process, f"http://{address}"
        except OSError:
            await asyncio.sleep(0.1)
    process.kill()
    raise RuntimeError("the bank simulator did not start")


async def run_payouts_bench(
    database_url: str,
    redis_url: str,
    *,
    merchants: int = 10_000,
    rows_per_merchant: int = 10,
    with_pgbench: bool = True,
    ports: Ports | None = None,
) -> PayoutFigures:
    """`ports`: where its bank simulator listens (default: PAYCORE_BENCH_PORTS, else
    DEFAULT_PORTS)."""
    bank, psp_url = None, ""
    async with scratch_databases(database_url) as scratch:
        try:
            with tempfile.TemporaryDirectory(prefix="paycore-bench-bank-") as data_dir:
                bank, psp_url = await _start_bank(Path(data_dir), ports or default_ports())
                availability, scheduler, payouts, at_bank = await _measure(
                    scratch.urls, redis_url, psp_url, merchants, rows_per_merchant
                )
                bank.terminate()
                await bank.wait()
                bank = None
        finally:
            if bank is not None:
                bank.kill()
        pgbench = await scratch.pgbench_tps() if with_pgbench else None
    return PayoutFigures(
        merchants=merchants,
        rows=merchants * rows_per_merchant,
        availability_seconds=availability,
        scheduler_seconds=scheduler,
        payouts=payouts,
        at_bank=at_bank,
        pgbench_tps=pgbench,
    )


def add_arguments(parser: argparse.ArgumentParser, database_url: str, redis_url: str) -> None:
    add_server_arguments(parser, database_url, redis_url)
    add_ports_argument(parser)
    parser.add_argument("--merchants", type=int, default=10_000, help="merchants (10,000)")
    parser.add_argument(
        "--rows-per-merchant", type=int, default=10, help="due balance transactions each (10)"
    )


def run_from_arguments(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> None:
    run_and_print(parser, arguments, run_payouts_bench, ("merchants", "rows_per_merchant", "ports"))


def main() -> None:
    module_main("paycore.tools.bench.payouts", __doc__, add_arguments, run_from_arguments)


if __name__ == "__main__":
    main()
