"""`paycore worker` killed with SIGKILL in the middle of delivering, then started again: every
event reaches the endpoint at least once and no delivery is lost (its lease runs out and the
new process attempts it again; the receiver dedupes on the event id)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from paycore.storage.schema import webhook_deliveries
from sqlalchemy import func, select

from tests.events.support import record
from tests.helpers import free_port, server_environment
from tests.payment.shop import Shop
from tests.webhooks.conftest import Hooks
from tests.webhooks.receivers import Received
from tests.webhooks.support import endpoint

pytestmark = pytest.mark.slow
EVENT_COUNT = 300


async def _worker(hooks: Hooks) -> asyncio.subprocess.Process:
    environment = server_environment(
        hooks.settings,
        free_port(),
        free_port(),
        PAYCORE_WORKER_METRICS_ADDR=f"127.0.0.1:{free_port()}",
        PAYCORE_WEBHOOK_ALLOW_HTTP="true",
        PAYCORE_WEBHOOK_ALLOW_PRIVATE="true",
        PAYCORE_WEBHOOK_TIMEOUT_MS="2000",
        PAYCORE_WEBHOOK_LEASE_MS="3000",
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "paycore.cli",
        "worker",
        env=environment,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def _until(condition: Callable[[], Awaitable[bool]], seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def _statuses(hooks: Hooks, merchant_id: str) -> dict[str, int]:
    async with hooks.platform.shards.read(merchant_id) as connection:
        rows = await connection.execute(
            select(webhook_deliveries.c.status, func.count())
            .where(webhook_deliveries.c.merchant_id == merchant_id)
            .group_by(webhook_deliveries.c.status)
        )
        return {status: count for status, count in rows.all()}


async def test_a_sigkilled_worker_loses_no_delivery(hooks: Hooks, shop: Shop) -> None:
    async def slowly(received: Received) -> web.Response:
        await asyncio.sleep(0.05)  # so the kill lands while attempts are in flight
        return web.Response(text="ok")

    receiver = await hooks.receiver(slowly)
    await endpoint(shop.client, receiver.url)
    recorded = {await record(hooks.platform, shop.id) for _ in range(EVENT_COUNT)}

    first = await _worker(hooks)
    try:
        await _until(lambda: _true(len(receiver.accepted) >= 30), 60)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    delivered_before_the_kill = set(receiver.event_ids())
    assert len(delivered_before_the_kill) < EVENT_COUNT  # it died mid-way

    # The restarted worker attempts again what the first left leased (a delivery whose POST
    # went out but whose outcome died with the process is sent twice: at least once).
    second = await _worker(hooks)
    try:
        await _until(lambda: _true(recorded <= set(receiver.event_ids())), 90)
        await _until(lambda: _equal(_statuses(hooks, shop.id), {"succeeded": EVENT_COUNT}), 90)
    finally:
        second.send_signal(signal.SIGTERM)
        assert await second.wait() == 0  # stopped cleanly: its outcomes are recorded

    assert set(receiver.event_ids()) == recorded  # every event at least once
    assert await _statuses(hooks, shop.id) == {"succeeded": EVENT_COUNT}  # none lost


async def _true(value: bool) -> bool:
    return value


async def _equal(found: Awaitable[dict[str, int]], expected: dict[str, int]) -> bool:
    return await found == expected
