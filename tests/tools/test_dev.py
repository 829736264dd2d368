"""`paycore dev` (what `make run` runs) from scratch: no PAYCORE_* servers, only Python."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO

import grpc
import psutil
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2
from paycore.client import connect
from paycore.psp.client import PspClient, PspTransientError
from paycore.v1 import account_pb2

from tests.helpers import free_port, health_status, http_get
from tests.tools.psp.support import charge

pytestmark = pytest.mark.slow


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pcdev-", dir="/tmp") as folder:
        yield Path(folder)


def _start(
    data_dir: Path,
    grpc_port: int,
    metrics_port: int,
    extra: dict[str, str] | None = None,
    log: IO[bytes] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PAYCORE_")}
    env |= {
        "PAYCORE_DATA_DIR": str(data_dir),
        "PAYCORE_GRPC_ADDR": f"127.0.0.1:{grpc_port}",
        "PAYCORE_METRICS_ADDR": f"127.0.0.1:{metrics_port}",
        "PAYCORE_HTTP_ADDR": "127.0.0.1:0",  # any free port: the banner names it
        "PAYCORE_PSP_URL": "http://127.0.0.1:0",
        **(extra or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "paycore.cli", "dev"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    assert process.stdout is not None
    banner, deadline = "", time.monotonic() + 90
    while "Ctrl-C stops everything" not in banner:
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise AssertionError(f"paycore dev did not come up: {banner}")
        ready, _, _ = select.select([process.stdout], [], [], 1)
        if ready:  # read the pipe itself: a buffered readline would hide what select sees
            banner += os.read(process.stdout.fileno(), 65536).decode()
    return process, banner


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        assert process.wait(30) == 0
    finally:
        if process.stdout is not None:
            process.stdout.close()


def _field(banner: str, name: str) -> str:
    """The value of the banner's line `name   value` (a line's start: the data directory's
    random name, which the storage line prints, can end in "id")."""
    found = re.search(rf"^ *{name} +(\S+)", banner, re.MULTILINE)
    assert found, banner
    return found.group(1)


async def test_dev_starts_from_scratch_and_reuses_its_data(data_dir: Path) -> None:
    grpc_port, metrics_port = free_port(), free_port()
    target = f"127.0.0.1:{grpc_port}"
    process, banner = _start(data_dir, grpc_port, metrics_port)
    try:
        merchant_id = _field(banner, "id")
        secret_key = _field(banner, "secret key")
        assert secret_key.startswith("sk_test_")
        health = await health_status(target, "paycore.v1.AccountService")
        assert health == health_pb2.HealthCheckResponse.SERVING
        async with connect(target, secret_key) as client:
            merchant = await client.accounts.GetMerchant(
                account_pb2.GetMerchantRequest(id=merchant_id)
            )
            assert merchant.name == "Demo Merchant"
            with pytest.raises(aio.AioRpcError) as other:
                await client.accounts.GetMerchant(
                    account_pb2.GetMerchantRequest(id="acct_" + "1" * 22)
                )
            assert other.value.code() == grpc.StatusCode.NOT_FOUND
        async with connect(target, secret_key[:-2] + "xx") as wrong:
            with pytest.raises(aio.AioRpcError) as refused:
                await wrong.accounts.GetMerchant(account_pb2.GetMerchantRequest(id=merchant_id))
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        edge = _field(banner, "REST edge")
        assert '"status":"ok"' in await asyncio.to_thread(http_get, f"{edge}/healthz")
        metrics = await asyncio.to_thread(http_get, f"http://127.0.0.1:{metrics_port}/metrics")
        handled = [
            line
            for line in metrics.splitlines()
            if line.startswith("grpc_server_handled_total{")
            and 'grpc_method="GetMerchant"' in line
            and 'grpc_code="OK"' in line
        ]
        assert handled and float(handled[0].rsplit(" ", 1)[1]) >= 1, metrics
        # The worker runs beside them: its loops show in the same metrics.
        assert "outbox_publisher" in _field(banner, "worker")
        deadline = time.monotonic() + 10
        while 'paycore_worker_job_runs_total{job="outbox_publisher"' not in metrics:
            assert time.monotonic() < deadline, metrics
            await asyncio.sleep(0.2)
            metrics = await asyncio.to_thread(http_get, f"http://127.0.0.1:{metrics_port}/metrics")
        psp_url = _field(banner, "PSP")
        async with _psp_client(psp_url) as psp:
            charged = await charge(psp, key="dev-charge")
            assert charged.status == "captured"
        # The operator CLI reaches the embedded servers with the line the banner prints.
        (operator_line,) = [
            line for line in banner.splitlines() if "PAYCORE_DATABASE_URLS=" in line
        ]
        shards = await asyncio.to_thread(_run_printed, operator_line)
        assert shards.returncode == 0, shards.stderr
        assert shards.stdout.startswith("physical 0: logical [0, 2, 4"), shards.stdout
    finally:
        _stop(process)
    async with _psp_client(psp_url) as psp:
        with pytest.raises(PspTransientError):  # the simulator stopped with the rest
            await psp.lookup("dev-charge")
    leftovers = [
        proc.info["name"]
        for proc in psutil.process_iter(["name", "cwd"])
        if proc.info["cwd"] and str(data_dir) in proc.info["cwd"]
    ]
    assert leftovers == []

    process, banner = _start(data_dir, grpc_port, metrics_port)
    try:
        assert _field(banner, "id") == merchant_id
        assert _field(banner, "secret key") == secret_key
        async with _psp_client(_field(banner, "PSP")) as psp:
            assert await psp.lookup("dev-charge") == charged  # its store is under the data dir
    finally:
        _stop(process)


async def test_dev_prints_the_internal_port_when_it_is_set(data_dir: Path) -> None:
    """With PAYCORE_INTERNAL_GRPC_ADDR the internal services (ledger, executor, reconciliation)
    are served there only, and reflected nowhere else: the banner names that address, as it
    names every other one, and the ledger answers there."""
    grpc_port, metrics_port, internal_port = free_port(), free_port(), free_port()
    internal = f"127.0.0.1:{internal_port}"
    process, banner = _start(
        data_dir, grpc_port, metrics_port, {"PAYCORE_INTERNAL_GRPC_ADDR": internal}
    )
    try:
        assert _field(banner, "internal") == internal, banner
        health = await health_status(internal, "paycore.v1.LedgerService")
        assert health == health_pb2.HealthCheckResponse.SERVING
    finally:
        _stop(process)


async def test_dev_on_any_free_port_prints_and_links_the_port_taken(data_dir: Path) -> None:
    """PAYCORE_HTTP_ADDR on port 0 (any free port, which the banner names): a checkout
    session's `url` (and a 3-D Secure return) starts with the edge as buyers reach it, which
    was http://127.0.0.1:0, a page no browser opens; it is the port the edge took. And
    PAYCORE_METRICS_ADDR on port 0: the banner printed http://127.0.0.1:0/metrics. A first
    run's log says the migration in one line, not each revision's docstring on each shard."""
    with tempfile.TemporaryFile() as log:
        process, banner = _start(data_dir, free_port(), 0, log=log)
        log.seek(0)
        before_banner = log.read().decode()
    try:
        assert "migrated 2 shard(s) to the newest schema" in before_banner, before_banner
        assert "Running upgrade" not in before_banner
        metrics = _field(banner, "metrics")
        assert not metrics.endswith(":0/metrics"), banner
        assert "paycore_worker" in await asyncio.to_thread(http_get, metrics)
        edge = _field(banner, "REST edge")
        assert not edge.endswith(":0"), banner
        form = urllib.parse.urlencode(
            {
                "currency": "usd",
                "line_items[0][name]": "Paper cranes",
                "line_items[0][unit_amount]": "1250",
                "success_url": "https://shop.example.com/thanks",
                "cancel_url": "https://shop.example.com/cart",
            }
        ).encode()
        request = urllib.request.Request(
            f"{edge}/v1/checkout/sessions",
            data=form,
            headers={"Authorization": f"Bearer {_field(banner, 'secret key')}"},
        )
        session = json.loads(await asyncio.to_thread(_read, request))
        assert session["url"].startswith(f"{edge}/c/pay/{session['id']}/"), session["url"]
        page = await asyncio.to_thread(http_get, session["url"])
        assert "Paper cranes" in page
    finally:
        _stop(process)


def _read(request: urllib.request.Request) -> str:
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


def _run_printed(line: str) -> subprocess.CompletedProcess[str]:
    """A command line as the banner prints it, run by a shell (its quoting is the shell's),
    with this interpreter's paycore in place of the worktree's .venv/bin/paycore."""
    command = line.strip().replace(
        ".venv/bin/paycore", f"{shlex.quote(sys.executable)} -m paycore.cli"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("PAYCORE_")}
    return subprocess.run(
        ["sh", "-c", command], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@contextlib.asynccontextmanager
async def _psp_client(url: str) -> AsyncIterator[PspClient]:
    client = PspClient(url, timeout_seconds=5)
    try:
        yield client
    finally:
        await client.close()


@pytest.mark.parametrize("setting", ["PAYCORE_GRPC_ADDR", "PAYCORE_INTERNAL_GRPC_ADDR"])
def test_dev_names_the_setting_of_a_taken_port(data_dir: Path, setting: str) -> None:
    """A port another process listens on, even a gRPC server's that sets SO_REUSEPORT (which
    our gRPC server would otherwise share with it): `paycore dev` stops what it started and
    names the setting that moves it, instead of a traceback. The internal services' port too,
    when it is set: it named PAYCORE_GRPC_ADDR and the public address, which were free, after
    migrating and starting the simulator."""
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        env = {key: value for key, value in os.environ.items() if not key.startswith("PAYCORE_")}
        env |= {
            "PAYCORE_DATA_DIR": str(data_dir),
            "PAYCORE_GRPC_ADDR": f"127.0.0.1:{free_port()}",
            "PAYCORE_METRICS_ADDR": f"127.0.0.1:{free_port()}",
            "PAYCORE_HTTP_ADDR": "127.0.0.1:0",
            "PAYCORE_PSP_URL": "http://127.0.0.1:0",
            setting: f"127.0.0.1:{taken}",
        }
        done = subprocess.run(
            [sys.executable, "-m", "paycore.cli", "dev"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    assert f"127.0.0.1:{taken} ({setting}) is taken" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "Traceback" not in done.stdout
    leftovers = [
        proc.info["name"]
        for proc in psutil.process_iter(["name", "cwd", "cmdline"])
        if str(data_dir) in " ".join([proc.info["cwd"] or "", *(proc.info["cmdline"] or [])])
    ]
    assert leftovers == []  # the embedded servers it started are stopped


def test_dev_stops_what_it_started_when_the_edge_cannot_start(data_dir: Path) -> None:
    """The REST edge fails after the gRPC server, the simulator and the embedded servers
    started (an address of no interface here; port 0 passes the taken-port check): each is
    stopped, in reverse order, and the setting is named, instead of a traceback and a gRPC
    server left holding its port."""
    grpc_port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PAYCORE_")}
    env |= {
        "PAYCORE_DATA_DIR": str(data_dir),
        "PAYCORE_GRPC_ADDR": f"127.0.0.1:{grpc_port}",
        "PAYCORE_METRICS_ADDR": f"127.0.0.1:{free_port()}",
        "PAYCORE_HTTP_ADDR": "192.0.2.1:0",  # TEST-NET-1: no interface of this machine has it
        "PAYCORE_PSP_URL": "http://127.0.0.1:0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "paycore.cli", "dev"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "REST edge server did not start on 192.0.2.1:0 (PAYCORE_HTTP_ADDR)" in done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    with socket.socket() as probe:  # the gRPC server let go of its port
        probe.bind(("127.0.0.1", grpc_port))
    leftovers = [
        proc.info["name"]
        for proc in psutil.process_iter(["name", "cwd", "cmdline"])
        if str(data_dir) in " ".join([proc.info["cwd"] or "", *(proc.info["cmdline"] or [])])
    ]
    assert leftovers == []  # the simulator and the embedded servers are stopped
