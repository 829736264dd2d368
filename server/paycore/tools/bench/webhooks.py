"""The webhook benchmark: deliveries/s from a real `paycore worker` to a local receiver, and the
delay from each event's commit to its first delivery attempt (p50/p99), beside pgbench's TPC-B
figure for the same PostgreSQL server.

Self-contained: it creates two databases of its own (two shards), migrates them, makes
`--merchants` merchants with `--endpoints` endpoints each (all pointing at the receiver), starts
the receiver (its own process: a minimal HTTP/1.1 server that answers 200 at once and notes when
each delivery first arrived) and `paycore worker` (its own process, the real job loop), then
commits events at `--rate` per second, spread over the merchants, in small transactions (one
per shard every 10 ms). Each event is one delivery per endpoint of its merchant. After a warm-up,
it measures `--duration` seconds: deliveries/s is the count of deliveries that first arrived in
that window over its length (it matches the offered rate only when the worker keeps up; the
report says whether it did), and the delay of each is its first arrival at the receiver minus
the commit of its event. Then it drops the databases.

    paycore bench webhooks --database-url postgresql://postgres@127.0.0.1:5432/postgres
    python -m paycore.tools.bench.webhooks ...   (the same options)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
import asyncpg
from paycore.customer.vault import Vault
from paycore.events.outbox import prepare_event
from paycore.ids import Prefix, new_id, new_merchant_id
from paycore.invariants import violated
from paycore.storage import Shards
from paycore.storage.migrate import migrate_all
from paycore.storage.reads import Reads
from paycore.tools.bench.cpu import cpu_seconds
from paycore.tools.bench.histogram import nearest_rank
from paycore.tools.bench.ledger import _CpuMeter
from paycore.tools.bench.scratch import pgbench_line, scratch_databases, scratch_settings
from paycore.tools.bench.self_hosted import (
    Ports,
    add_duration_argument,
    add_ports_argument,
    add_server_arguments,
    default_ports,
    module_main,
    run_and_print,
)
from paycore.v1 import payment_pb2
from paycore.webhooks.endpoints import Endpoints
from paycore.webhooks.models import NewEndpoint
from paycore.webhooks.sealing import SecretBox

TICK_SECONDS = 0.01
WARM_UP_SECONDS = 3.0
DRAIN_SECONDS_MAX = 60.0
_INSERT_EVENT = """
INSERT INTO events (merchant_id, id, type, object_id, object_type, data)
VALUES ($1, $2, $3, $4, $5, $6::jsonb)
"""


@dataclass(frozen=True)
class WebhookFigures:
    offered_per_second: float
    delivered_per_second: float
    deliveries_measured: int
    delay_p50_ms: float
    delay_p99_ms: float
    delay_max_ms: float
    kept_up: bool
    undelivered: int
    worker_cpu_us: float | None
    receiver_cpu_us: float | None
    postgres_cpu_us: float | None
    pgbench_tps: float | None
    configuration: str

    def lines(self) -> list[str]:

        def cpu(value: float | None) -> str:
            return "n/a" if value is None else f"{value:,.0f} us"

        return [
            f"configuration: {self.configuration}, {os.cpu_count()} cores, "
            f"load {os.getloadavg()[0]:.2f} at the end",
            f"offered: {self.offered_per_second:,.0f} deliveries/s; delivered: "
            f"{self.delivered_per_second:,.0f} deliveries/s (first attempts, "
            f"{self.deliveries_measured} in the window); "
            + ("kept up" if self.kept_up else "did NOT keep up (a backlog grew)"),
            f"commit -> first delivery attempt: p50 {self.delay_p50_ms:.0f} ms, "
            f"p99 {self.delay_p99_ms:.0f} ms, max {self.delay_max_ms:.0f} ms",
            f"undelivered at the end: {self.undelivered}",
            f"CPU per delivery: worker {cpu(self.worker_cpu_us)}, "
            f"PostgreSQL {cpu(self.postgres_cpu_us)}, receiver {cpu(self.receiver_cpu_us)}",
            pgbench_line(self.pgbench_tps),
        ]


# -- the receiver: its own process, a minimal HTTP/1.1 server ------------------------------------

_HEADERS_END = b"\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_WEBHOOK_ID = re.compile(rb"\r\nwebhook-id:\s*([^\r]+)", re.IGNORECASE)
_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class _Receiving(asyncio.Protocol):
    """Answers every POST with 200 at once and notes the first arrival of each (path, webhook-id);
    `GET /arrivals` answers them as JSON."""

    def __init__(self, arrivals: dict[str, float]) -> None:
        self._arrivals = arrivals
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(_HEADERS_END)
            if end < 0:
                return
            head = bytes(self._buffer[:end])
            length_found = _CONTENT_LENGTH.search(head)
            total = end + 4 + (int(length_found.group(1)) if length_found else 0)
            if len(self._buffer) < total:
                return
            del self._buffer[:total]
            self._answer(head)

    def _answer(self, head: bytes) -> None:
        if self._transport is None:
            violated("data arrives only on a connected transport")
        request_line = head.split(b"\r\n", 1)[0]
        if request_line.startswith(b"GET /arrivals"):
            body = json.dumps(self._arrivals).encode()
            self._transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            return
        path = request_line.split(b" ")[1].decode()
        found = _WEBHOOK_ID.search(head)
        if found:
            self._arrivals.setdefault(f"{path} {found.group(1).decode()}", time.time())
        self._transport.write(_OK)


def _receiver_process(sending: Connection, port: int) -> None:
    async def main() -> None:
        arrivals: dict[str, float] = {}
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Receiving(arrivals), "127.0.0.1", port)
        sending.send(server.sockets[0].getsockname()[1])
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        server.close()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:  # pragma: no cover
        asyncio.run(main())


# -- the run ------------------------------------------------------------------------------------


def _worker_environment(settings: Any, metrics_port: int) -> dict[str, str]:
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith("PAYCORE_")},
        "PAYCORE_DATABASE_URLS": ",".join(settings.database_urls),
        "PAYCORE_REDIS_URL": settings.redis_url,
        "PAYCORE_REDIS_PREFIX": settings.redis_key_prefix,
        "PAYCORE_ADMIN_TOKEN": settings.admin_token,
        "PAYCORE_KEY_HASH_SECRET": settings.key_hash_secret,
        "PAYCORE_VAULT_KEY": settings.vault_key,
        "PAYCORE_CARD_FINGERPRINT_KEY": settings.card_fingerprint_key,
        "PAYCORE_WORKER_METRICS_ADDR": f"127.0.0.1:{metrics_port}",
        "PAYCORE_WEBHOOK_ALLOW_HTTP": "true",
        "PAYCORE_WEBHOOK_ALLOW_PRIVATE": "true",
        "PAYCORE_LOG_LEVEL": "WARNING",
    }


async def _make_endpoints(
    settings: Any, merchants: int, endpoints: int, receiver_url: str
) -> list[str]:
    shards = Shards(settings)
    box = SecretBox(Vault.from_setting(settings.vault_key))
    domain = Endpoints(Reads(shards), box)
    merchant_ids = [new_id(Prefix.ACCOUNT, index) for index in range(merchants)]
    try:
        for merchant_index, merchant_id in enumerate(merchant_ids):
            async with shards.transaction(merchant_id) as connection:
                for index in range(endpoints):
                    await domain.create(
                        connection,
                        merchant_id,
                        NewEndpoint(
                            url=f"{receiver_url}/m{merchant_index}e{index}",
                            enabled_events=("*",),
                            description="bench",
                            metadata={},
                        ),
                        int(time.time()),
                    )
    finally:
        await shards.dispose()
    return merchant_ids


class _Producer:
    """Commits events at a rate, one transaction per shard per tick; notes each commit time."""

    def __init__(self, shard_urls: tuple[str, ...], merchant_ids: list[str], rate: float) -> None:
        # One payment intent rendered once: the producer must cost far less than the worker.
        template = prepare_event(
            merchant_ids[0],
            "payment_intent.succeeded",
            payment_pb2.PaymentIntent(
                id=new_id(Prefix.PAYMENT_INTENT, 0),
                amount=1099,
                currency="usd",
                status=payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED,
                metadata={"order": "1234"},
            ),
        )
        self._row_tail = (
            template.type,
            template.object_id,
            template.object_type,
            json.dumps(template.data),
        )
        self._shard_urls = shard_urls
        self._merchant_ids = merchant_ids
        self._rate = rate
        self.committed: dict[str, float] = {}
        self._owed = 0.0
        self._next_merchant = 0

    async def run(self, seconds: float) -> int:
        connections = [await asyncpg.connect(url) for url in self._shard_urls]
        produced = 0
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            ticks = 0
            while loop.time() - started < seconds:
                ticks += 1
                self._owed += self._rate * TICK_SECONDS
                count = int(self._owed)
                self._owed -= count
                if count:
                    produced += await self._commit(connections, count)
                delay = started + ticks * TICK_SECONDS - loop.time()
                await asyncio.sleep(max(0.0, delay))
        finally:
            for connection in connections:
                await connection.close()
        return produced

    async def _commit(self, connections: list[Any], count: int) -> int:
        by_shard: dict[int, list[tuple[Any, ...]]] = {}
        for _ in range(count):
            index = self._next_merchant % len(self._merchant_ids)
            self._next_merchant += 1
            merchant_id = self._merchant_ids[index]
            event_id = new_merchant_id(Prefix.EVENT, merchant_id)
            by_shard.setdefault(index % len(connections), []).append(
                (merchant_id, event_id, *self._row_tail)
            )

        async def one(shard: int, rows: list[tuple[Any, ...]]) -> None:
            connection = connections[shard]
            async with connection.transaction():
                await connection.executemany(_INSERT_EVENT, rows)
            committed = time.time()
            for row in rows:
                self.committed[row[1]] = committed

        await asyncio.gather(*(one(shard, rows) for shard, rows in by_shard.items()))
        return count


async def _until_serving(metrics_url: str, worker: subprocess.Popen[bytes]) -> None:
    """Waits for the worker's metrics endpoint: its loops run from then on."""
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if worker.poll() is not None:
                raise SystemExit("paycore worker exited")
            try:
                async with http.get(metrics_url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("paycore worker did not start within a minute")


async def _arrivals(receiver_url: str) -> dict[str, float]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(receiver_url.rsplit("/", 1)[0] + "/arrivals") as response,
    ):
        found: dict[str, float] = await response.json()
        return found


async def _drained_arrivals(receiver_url: str, expected: int) -> dict[str, float]:
    """The receiver's arrivals once `expected` have come, or DRAIN_SECONDS_MAX has passed."""
    loop = asyncio.get_running_loop()
    drain_deadline = loop.time() + DRAIN_SECONDS_MAX
    arrivals = await _arrivals(receiver_url)
    while len(arrivals) < expected and loop.time() < drain_deadline:
        await asyncio.sleep(1.0)
        arrivals = await _arrivals(receiver_url)
    return arrivals


def _stop(worker: subprocess.Popen[bytes] | None, receiver: Any) -> None:
    """Stops the worker and the receiver."""
    if worker is not None and worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    if receiver.is_alive() and receiver.pid:
        os.kill(receiver.pid, signal.SIGTERM)
        receiver.join(10)


async def run_webhook_bench(
    database_url: str,
    redis_url: str,
    *,
    rate: float,
    merchants: int,
    endpoints: int,
    duration_seconds: float,
    with_pgbench: bool = True,
    ports: Ports | None = None,
) -> WebhookFigures:
    """`ports`: where its receiver and its worker's metrics listen (default:
    PAYCORE_BENCH_PORTS, else DEFAULT_PORTS)."""
    ports = ports or default_ports()
    async with scratch_databases(database_url) as scratch:
        settings = scratch_settings(
            scratch.urls, redis_url, redis_key_prefix=f"paycore-bench-{scratch.run}:"
        )
        context = multiprocessing.get_context("spawn")
        receiving, sending = context.Pipe(duplex=False)
        receiver = context.Process(
            target=_receiver_process, args=(sending, ports.take()), daemon=True
        )
        worker: subprocess.Popen[bytes] | None = None
        try:
            await migrate_all(settings.database_urls)
            receiver.start()
            port = await asyncio.to_thread(receiving.recv)
            receiver_url = f"http://127.0.0.1:{port}/hooks"
            merchant_ids = await _make_endpoints(settings, merchants, endpoints, receiver_url)
            metrics_port = ports.take()
            worker = subprocess.Popen(  # noqa: ASYNC220 (started once, before the measuring)
                [sys.executable, "-m", "paycore.cli", "worker"],
                env=_worker_environment(settings, metrics_port),
            )
            await _until_serving(f"http://127.0.0.1:{metrics_port}/metrics", worker)
            producer = _Producer(scratch.urls, merchant_ids, rate)
            await producer.run(WARM_UP_SECONDS)
            pids = [worker.pid, receiver.pid or 0]
            backends = _CpuMeter(database_url, scratch.names)
            await backends.start()
            cpu_before = cpu_seconds(pids)
            window_start = time.time()
            produced = await producer.run(duration_seconds)
            window_end = time.time()
            expected = len(producer.committed) * endpoints
            arrivals = await _drained_arrivals(receiver_url, expected)
            cpu_after = cpu_seconds(pids)  # the window and the drain of its backlog
            drained = sum(1 for arrived in arrivals.values() if arrived >= window_start)
            postgres = (await backends.stop(drained)).postgres_us
            if with_pgbench:
                worker.send_signal(signal.SIGTERM)
                worker.wait(30)
            pgbench = await scratch.pgbench_tps() if with_pgbench else None
        finally:
            _stop(worker, receiver)

    in_window = [
        arrived for key, arrived in arrivals.items() if window_start <= arrived < window_end
    ]
    delays = sorted(
        (arrived - producer.committed[key.split(" ", 1)[1]]) * 1000
        for key, arrived in arrivals.items()
        if window_start <= producer.committed.get(key.split(" ", 1)[1], 0) < window_end
    )

    offered = produced * endpoints / duration_seconds
    delivered = len(in_window) / duration_seconds
    cpu_spent = None
    if cpu_before is not None and cpu_after is not None:
        cpu_spent = {pid: cpu_after[pid] - cpu_before[pid] for pid in pids}
    per_delivery = max(sum(1 for arrived in arrivals.values() if arrived >= window_start), 1)
    return WebhookFigures(
        offered_per_second=offered,
        delivered_per_second=delivered,
        deliveries_measured=len(in_window),
        delay_p50_ms=nearest_rank(delays, 0.50),
        delay_p99_ms=nearest_rank(delays, 0.99),
        delay_max_ms=delays[-1] if delays else 0.0,
        kept_up=delivered >= 0.95 * offered and nearest_rank(delays, 0.99) < 5000,
        undelivered=expected - len(arrivals),
        worker_cpu_us=None if cpu_spent is None else cpu_spent[pids[0]] / per_delivery * 1e6,
        receiver_cpu_us=None if cpu_spent is None else cpu_spent[pids[1]] / per_delivery * 1e6,
        postgres_cpu_us=postgres,
        pgbench_tps=pgbench,
        configuration=(
            f"one `paycore worker` (defaults), two shards, {merchants} merchants x {endpoints}"
            f" endpoints, events at {rate:,.0f}/s, a one-process receiver answering 200 at once,"
            f" {duration_seconds:.0f} s measured after {WARM_UP_SECONDS:.0f} s of warm-up"
        ),
    )


def add_arguments(parser: argparse.ArgumentParser, database_url: str, redis_url: str) -> None:
    add_server_arguments(parser, database_url, redis_url)
    parser.add_argument("--rate", type=float, default=600.0, help="events committed per second")
    parser.add_argument("--merchants", type=int, default=4, help="merchants (4), over two shards")
    parser.add_argument(
        "--endpoints", type=int, default=4, help="endpoints per merchant (4): deliveries per event"
    )
    add_duration_argument(parser, "measured")
    add_ports_argument(parser)


def run_from_arguments(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> None:
    run_and_print(
        parser,
        arguments,
        run_webhook_bench,
        ("rate", "merchants", "endpoints", "duration_seconds", "ports"),
    )


def main() -> None:
    module_main("paycore.tools.bench.webhooks", __doc__, add_arguments, run_from_arguments)


if __name__ == "__main__":
    main()
