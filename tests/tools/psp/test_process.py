"""`paycore psp` as a real process: serves, stops on SIGTERM, and keeps what it did."""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiohttp
import pytest
from paycore.config import Settings
from paycore.errors import ConfigurationError
from paycore.psp.client import PspClient
from paycore.tools.dev import _psp_simulator
from paycore.tools.psp import cards

from tests.helpers import free_port
from tests.tools.psp.support import charge, new_key

pytestmark = pytest.mark.slow


def _start(data_dir: Path, port: int, *arguments: str) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PAYCORE_")}
    return subprocess.Popen(
        [sys.executable, "-m", "paycore.cli", "psp", "--addr", f"127.0.0.1:{port}",
         "--data-dir", str(data_dir), *arguments],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


async def _wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert process.poll() is None, "paycore psp exited"
            try:
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"nothing healthy at {url}")


async def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        _, stderr = await asyncio.to_thread(process.communicate, timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    return stderr


async def test_the_process_keeps_its_operations_across_restarts_and_a_crash(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    key, refund_key, crash_key = new_key(), new_key(), new_key()
    process = _start(tmp_path, port, "--access-log")
    client = PspClient(url, timeout_seconds=2)
    try:
        await _wait_healthy(url, process)
        charged = await charge(client, key=key, amount=3100)
        assert charged.status == "captured"
        assert await client.lookup(new_key()) is None
    finally:
        await client.close()
        first_log = await _stop(process)
    assert "PSP simulator on" in first_log and "POST /v1/charges" in first_log
    assert cards.CARD_SUCCEEDS not in first_log

    process = _start(tmp_path, port, "--latency-ms", "1")
    client = PspClient(url, timeout_seconds=2)
    try:
        await _wait_healthy(url, process)
        assert await client.lookup(key) == charged
        assert await charge(client, key=key, amount=3100) == charged
        refunded = await client.refund(
            idempotency_key=refund_key, charge=charged.reference, amount=100
        )
    finally:
        await client.close()
        second_log = await _stop(process)
    assert "POST /v1/charges" not in second_log

    # A crash (SIGKILL, no shutdown at all) loses nothing that was answered.
    process = _start(tmp_path, port)
    client = PspClient(url, timeout_seconds=2)
    try:
        await _wait_healthy(url, process)
        crashed = await charge(client, key=crash_key, amount=55)
    finally:
        await client.close()
        process.kill()
        await asyncio.to_thread(process.communicate, timeout=20)
    process = _start(tmp_path, port)
    client = PspClient(url, timeout_seconds=2)
    try:
        await _wait_healthy(url, process)
        assert await client.lookup(crash_key) == crashed
        assert await client.lookup(refund_key) == refunded
        assert await client.lookup(key) == charged
    finally:
        await client.close()
        await _stop(process)


def test_a_settlement_report_needs_a_store(tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "paycore.cli", "psp", "settlement", "--date", "2026-01-02",
         "--data-dir", str(tmp_path / "nothing")],
        capture_output=True,
        text=True,
        timeout=30,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "no PSP store" in refused.stderr and refused.stdout == ""


def test_bad_options_are_refused_by_name(tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "paycore.cli", "psp", "--error-rate", "2",
         "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "--error-rate" in refused.stderr


def test_dev_never_takes_another_server_on_the_port_for_its_simulator(tmp_path: Path) -> None:
    class Impostor(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"status": "ok", "pid": 1}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Impostor) as impostor:
        thread = threading.Thread(target=impostor.serve_forever, daemon=True)
        thread.start()
        settings = Settings(
            psp_url=f"http://127.0.0.1:{impostor.server_address[1]}", data_dir=tmp_path
        )
        try:
            with pytest.raises(ConfigurationError, match="port in use"), _psp_simulator(settings):
                pass
        finally:
            impostor.shutdown()
