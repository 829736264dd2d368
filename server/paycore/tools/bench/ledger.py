"""The ledger benchmark: transfers/s in batches of 1,000 and as many concurrent single-transfer
gRPC calls (p50/p99), next to pgbench's TPC-B figure for the same PostgreSQL server.

Self-contained: it creates two databases of its own on the server (two shards), migrates them,
serves the platform in this process, drives the single calls from a second process (a Python
gRPC client costs as much CPU as the server), and drops the databases at the end.

    paycore bench ledger --database-url postgresql://postgres@127.0.0.1:5432/postgres
    python -m paycore.tools.bench.ledger ...   (the same options)

The server is the one `paycore serve` runs (one process, its coalescer's defaults, the garbage
collector tuned as serving tunes it, uvloop where installed), in the bench's own process; the
report's first line says so.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import time
from dataclasses import dataclass

from paycore.app import build_platform, start_server
from paycore.client import connect
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.runtime.collector import tune_for_serving
from paycore.storage.migrate import migrate_all
from paycore.tools.bench.cpu import backend_pids, cpu_seconds, spent
from paycore.tools.bench.histogram import nearest_rank
from paycore.tools.bench.runner import run_here
from paycore.tools.bench.scratch import (
    pgbench_line,
    scratch_databases,
    scratch_settings,
    with_database,
)
from paycore.tools.bench.self_hosted import (
    add_duration_argument,
    add_server_arguments,
    module_main,
    run_and_print,
)
from paycore.v1 import account_pb2, ledger_pb2
from prometheus_client import CollectorRegistry

BATCH_SIZE = 1000
HOT_ACCOUNTS = 16
CONFIGURATION = (
    f"one in-process server (coalescer defaults), two shards, {HOT_ACCOUNTS} hot accounts, "
    "batches sent one after another, single calls from one client process"
)


@dataclass(frozen=True)
class LedgerFigures:
    batched_transfers_per_second: float
    batches: int
    single_transfers_per_second: float
    single_calls: int
    single_p50_ms: float
    single_p99_ms: float
    single_failures: int
    pgbench_tps: float | None
    batched_cpu: CpuPerTransfer
    single_cpu: CpuPerTransfer

    def lines(self) -> list[str]:
        return [
            f"configuration: {CONFIGURATION}, {os.cpu_count()} cores, "
            f"load {os.getloadavg()[0]:.2f} at the end",
            f"ledger batched ({BATCH_SIZE}/call, gRPC): "
            f"{self.batched_transfers_per_second:,.0f} transfers/s over {self.batches} batches",
            f"ledger single-transfer gRPC calls: {self.single_transfers_per_second:,.0f} "
            f"transfers/s over {self.single_calls} calls, p50 {self.single_p50_ms:.1f} ms, "
            f"p99 {self.single_p99_ms:.1f} ms, {self.single_failures} failed",
            f"CPU per transfer, batched: {self.batched_cpu}",
            f"CPU per transfer, single calls: {self.single_cpu}",
            pgbench_line(self.pgbench_tps),
        ]


@dataclass(frozen=True)
class CpuPerTransfer:
    """CPU microseconds per transfer: the bench's own process (the server, and in the batched
    phase its client too), the single calls' client process, and the PostgreSQL backends
    serving the bench's databases (WAL writer and checkpointer not counted). Unlike
    throughput, these barely move with the load of other work on the machine."""

    server_us: float
    client_us: float | None
    postgres_us: float | None

    def __str__(self) -> str:
        def shown(value: float | None) -> str:
            return "n/a" if value is None else f"{value:,.0f} us"

        client = "" if self.client_us is None else f", client {shown(self.client_us)}"
        return f"server {shown(self.server_us)}{client}, PostgreSQL {shown(self.postgres_us)}"


class _CpuMeter:
    """CPU seconds of this process and of the PostgreSQL backends of some databases, between
    `start` and `stop`; backends are read from /proc (a server on this machine only)."""

    def __init__(self, admin_url: str, databases: list[str]) -> None:
        self._admin_url = admin_url
        self._databases = databases
        self._process = 0.0
        self._backends: dict[int, float] | None = {}

    async def start(self) -> None:
        self._process = time.process_time()
        self._backends = await self._backend_seconds()

    async def stop(self, transfers: int, client_seconds: float | None = None) -> CpuPerTransfer:
        process = time.process_time() - self._process
        before, after = self._backends, await self._backend_seconds()
        postgres = None
        if before is not None and after is not None:
            postgres = spent(before, after)

        def per_transfer(seconds: float | None) -> float | None:
            return None if seconds is None else seconds / max(transfers, 1) * 1e6

        return CpuPerTransfer(
            server_us=process / max(transfers, 1) * 1e6,
            client_us=per_transfer(client_seconds),
            postgres_us=per_transfer(postgres),
        )

    async def _backend_seconds(self) -> dict[int, float] | None:
        pids = await backend_pids(with_database(self._admin_url, "postgres"), self._databases)
        return cpu_seconds(pids)


def _transfer(merchant_id: str, accounts: list[str], index: int) -> ledger_pb2.LedgerTransfer:
    shard = logical_shard_of(merchant_id, Prefix.ACCOUNT)
    debit = accounts[index % len(accounts)]
    credit = accounts[(index * 7 + 1) % len(accounts)]
    if credit == debit:
        credit = accounts[(index + 1) % len(accounts)]
    return ledger_pb2.LedgerTransfer(
        id=new_id(Prefix.LEDGER_TRANSFER, shard),
        debit_account=debit,
        credit_account=credit,
        amount=1 + index % 100,
        currency="usd",
        code="bench",
    )


def _single_calls_process(
    target: str,
    token: str,
    merchant_id: str,
    accounts: list[str],
    concurrency: int,
    duration_seconds: float,
    queue: multiprocessing.Queue[tuple[list[float], int, float]],
) -> None:
    async def main() -> tuple[list[float], int, float]:
        cpu_started = time.process_time()
        latencies: list[float] = []
        failures = 0
        deadline = time.perf_counter() + duration_seconds
        async with connect(target, token) as client:
            post = client.ledger.PostTransfers

            async def caller(offset: int) -> None:
                nonlocal failures
                index = offset
                while time.perf_counter() < deadline:
                    request = ledger_pb2.PostTransfersRequest(
                        transfers=[_transfer(merchant_id, accounts, index)]
                    )
                    started = time.perf_counter()
                    response = await post(request, timeout=10)
                    latencies.append(time.perf_counter() - started)
                    if response.results[0].result != ledger_pb2.LEDGER_TRANSFER_RESULT_CREATED:
                        failures += 1
                    index += concurrency

            await asyncio.gather(*(caller(offset) for offset in range(concurrency)))
        return latencies, failures, time.process_time() - cpu_started

    queue.put(run_here(main()))


@dataclass(frozen=True)
class _Measured:
    batched_transfers_per_second: float
    batched_cpu: CpuPerTransfer
    latencies: list[float]
    failures: int
    elapsed: float
    single_cpu: CpuPerTransfer


async def _measure(
    database_urls: tuple[str, ...],
    redis_url: str,
    meter: _CpuMeter,
    batches: int,
    concurrency: int,
    duration_seconds: float,
) -> _Measured:
    settings = scratch_settings(database_urls, redis_url, database_pool_size=10)
    await migrate_all(database_urls)
    platform = build_platform(settings, CollectorRegistry())
    server = await start_server(platform, "127.0.0.1:0")
    tune_for_serving()  # as `paycore serve` does
    target = f"127.0.0.1:{server.port}"
    try:
        async with connect(target, settings.admin_token) as admin:
            merchant = await admin.accounts.CreateMerchant(
                account_pb2.CreateMerchantRequest(
                    name="Bench", email="bench@paycore.test", country="US", default_currency="usd"
                )
            )
            accounts = [
                (
                    await admin.ledger.CreateAccount(
                        ledger_pb2.CreateAccountRequest(
                            merchant=merchant.id,
                            code=f"bench_{index}",
                            type=ledger_pb2.LEDGER_ACCOUNT_TYPE_ASSET,
                            currency="usd",
                        )
                    )
                ).id
                for index in range(HOT_ACCOUNTS)
            ]
            requests = [
                ledger_pb2.PostTransfersRequest(
                    transfers=[
                        _transfer(merchant.id, accounts, batch * BATCH_SIZE + index)
                        for index in range(BATCH_SIZE)
                    ]
                )
                for batch in range(batches)
            ]
            await meter.start()
            started = time.perf_counter()
            for request in requests:
                response = await admin.ledger.PostTransfers(request, timeout=60)
                if any(
                    result.result != ledger_pb2.LEDGER_TRANSFER_RESULT_CREATED
                    for result in response.results
                ):
                    raise RuntimeError("a benchmark transfer failed")
            batched = batches * BATCH_SIZE / (time.perf_counter() - started)
            batched_cpu = await meter.stop(batches * BATCH_SIZE)
        context = multiprocessing.get_context("spawn")
        queue: multiprocessing.Queue[tuple[list[float], int, float]] = context.Queue()
        child = context.Process(
            target=_single_calls_process,
            args=(
                target,
                settings.admin_token,
                merchant.id,
                accounts,
                concurrency,
                duration_seconds,
                queue,
            ),
        )
        await meter.start()
        started = time.perf_counter()
        child.start()
        latencies, failures, client_seconds = await asyncio.to_thread(queue.get)
        elapsed = time.perf_counter() - started
        single_cpu = await meter.stop(len(latencies), client_seconds)
        await asyncio.to_thread(child.join)
        async with connect(target, settings.admin_token) as admin:
            report = await admin.ledger.CheckIntegrity(ledger_pb2.CheckIntegrityRequest())
            if not report.ok:
                raise RuntimeError(f"integrity check failed: {report.mismatches[:3]}")
        return _Measured(batched, batched_cpu, latencies, failures, elapsed, single_cpu)
    finally:
        await server.stop(1)
        await platform.close()


async def run_ledger_bench(
    database_url: str,
    redis_url: str,
    *,
    batches: int = 20,
    concurrency: int = 64,
    duration_seconds: float = 10.0,
    with_pgbench: bool = True,
) -> LedgerFigures:
    """Runs the whole benchmark on fresh databases of the server at `database_url`."""
    async with scratch_databases(database_url) as scratch:
        measured = await _measure(
            scratch.urls,
            redis_url,
            _CpuMeter(database_url, scratch.names),
            batches,
            concurrency,
            duration_seconds,
        )
        pgbench = await scratch.pgbench_tps() if with_pgbench else None
    latencies = sorted(measured.latencies)

    return LedgerFigures(
        batched_transfers_per_second=measured.batched_transfers_per_second,
        batches=batches,
        single_transfers_per_second=len(latencies) / measured.elapsed,
        single_calls=len(latencies),
        single_p50_ms=nearest_rank(latencies, 0.50) * 1000,
        single_p99_ms=nearest_rank(latencies, 0.99) * 1000,
        single_failures=measured.failures,
        pgbench_tps=pgbench,
        batched_cpu=measured.batched_cpu,
        single_cpu=measured.single_cpu,
    )


def add_arguments(parser: argparse.ArgumentParser, database_url: str, redis_url: str) -> None:
    add_server_arguments(parser, database_url, redis_url)
    parser.add_argument("--batches", type=int, default=20, help="batches of 1,000 (20)")
    parser.add_argument(
        "--concurrency", type=int, default=64, help="single-transfer calls in flight (64)"
    )
    add_duration_argument(parser, "of single calls")


def run_from_arguments(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> None:
    run_and_print(
        parser, arguments, run_ledger_bench, ("batches", "concurrency", "duration_seconds")
    )


def main() -> None:
    module_main("paycore.tools.bench.ledger", __doc__, add_arguments, run_from_arguments)


if __name__ == "__main__":
    main()
