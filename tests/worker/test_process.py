"""`paycore worker` as a real process: --once drains due work and exits 0; SIGTERM stops a
running worker cleanly."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from datetime import timedelta
from typing import Any

import pytest
from paycore.app import Platform
from paycore.config import Settings
from paycore.storage.schema import events
from redis.asyncio import Redis
from sqlalchemy import select

from tests.events.support import record
from tests.helpers import MerchantFixture, free_port, http_get, server_environment
from tests.worker.support import store_key, stored_keys

pytestmark = pytest.mark.slow


def _environment(settings: Settings, metrics_port: int) -> dict[str, str]:
    # The same environment `paycore serve` is tested with (whatever settings it comes to need).
    return {
        **server_environment(settings, free_port(), free_port()),
        "PAYCORE_WORKER_METRICS_ADDR": f"127.0.0.1:{metrics_port}",
        "PAYCORE_SHUTDOWN_GRACE_SECONDS": "10",
        "PAYCORE_DB_POOL_SIZE": "2",
    }


async def _worker(
    settings: Settings, metrics_port: int, *arguments: str
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "paycore.cli",
        "worker",
        *arguments,
        env=_environment(settings, metrics_port),
        stderr=asyncio.subprocess.PIPE,
    )


async def _published(platform: Platform, merchant_id: str, event_id: str) -> bool:
    async with platform.shards.read(merchant_id) as connection:
        published_at = await connection.scalar(
            select(events.c.published_at).where(
                events.c.merchant_id == merchant_id, events.c.id == event_id
            )
        )
    return published_at is not None


async def _streamed(redis: Redis, settings: Settings, event_id: str) -> bool:
    """Whether the event went out on the stream, looked for newest first, a page at a time: the
    stream holds every event of the test session (thousands by the time this runs), and one
    reply with all of them outlasted the client's read timeout on a busy machine."""
    stream = f"{settings.redis_key_prefix}events"
    newest = "+"
    while True:
        page: Any = await redis.xrevrange(stream, max=newest, count=500)
        if not page:
            return False
        if any(fields[b"event_id"].decode() == event_id for _, fields in page):
            return True
        newest = "(" + page[-1][0].decode()


async def test_once_processes_due_work_and_exits_0(
    platform: Platform, merchant: MerchantFixture, redis: Redis
) -> None:
    merchant_id = merchant.merchant.id
    event_id = await record(platform, merchant_id)
    engine = platform.shards.engine_for_merchant(merchant_id)
    await store_key(engine, merchant_id, "stale", timedelta(hours=25))

    worker = await _worker(platform.settings, free_port(), "--once")
    _, stderr = await asyncio.wait_for(worker.communicate(), timeout=60)
    assert worker.returncode == 0, stderr.decode()

    assert await _published(platform, merchant_id, event_id)
    assert await _streamed(redis, platform.settings, event_id)
    assert await stored_keys(engine, merchant_id) == set()


async def test_sigterm_stops_a_running_worker_cleanly(
    platform: Platform, merchant: MerchantFixture, redis: Redis
) -> None:
    metrics_port = free_port()
    worker = await _worker(platform.settings, metrics_port, "--concurrency", "2")
    try:
        metrics = ""
        deadline = time.monotonic() + 30
        while 'paycore_worker_job_runs_total{job="outbox_publisher"' not in metrics:
            assert time.monotonic() < deadline, "the worker's metrics never showed a run"
            assert worker.returncode is None
            await asyncio.sleep(0.2)
            try:
                url = f"http://127.0.0.1:{metrics_port}/metrics"
                metrics = await asyncio.to_thread(http_get, url)
            except OSError:
                continue
        # While it runs, a new event goes out within a few of the publisher's intervals.
        event_id = await record(platform, merchant.merchant.id)
        while not await _published(platform, merchant.merchant.id, event_id):
            assert time.monotonic() < deadline + 30, "the running worker did not publish"
            await asyncio.sleep(0.1)
        assert await _streamed(redis, platform.settings, event_id)

        worker.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(worker.communicate(), timeout=20)
        assert worker.returncode == 0, stderr.decode()
        assert "worker stopped" in stderr.decode()
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
