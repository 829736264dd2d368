"""Pay-out fixtures: `world`, a server of its own and a bank simulator on one test clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from paycore.app import build_platform, start_server
from paycore.client import connect
from paycore.config import Settings
from paycore.tools.psp.simulator import start_simulator
from prometheus_client import CollectorRegistry

from tests.helpers import PspSimulator
from tests.payment.shop import NO_LIMITS, PAYIN_TIMINGS
from tests.payout.support import Clock, PayoutShop, World


@pytest_asyncio.fixture
async def world(migrated: Settings, tmp_path: Path) -> AsyncIterator[World]:
    clock = Clock()
    data_dir = tmp_path / "psp"
    simulator = await start_simulator("127.0.0.1:0", data_dir, hang_seconds=1, clock=clock)
    settings = migrated.with_overrides(
        psp_url=simulator.url, rate_limits_per_second=NO_LIMITS, **PAYIN_TIMINGS
    )
    platform = build_platform(settings, CollectorRegistry(), clock)
    server = await start_server(platform, "127.0.0.1:0")
    admin = connect(f"127.0.0.1:{server.port}", settings.admin_token)
    try:
        yield World(
            platform, server, admin, settings.admin_token, clock, PspSimulator(simulator, data_dir)
        )
    finally:
        await admin.close()
        await server.stop(1)
        await platform.close()
        await simulator.close()


@pytest_asyncio.fixture
async def seller_shop(world: World) -> AsyncIterator[PayoutShop]:
    shop = await world.shop()
    try:
        yield shop
    finally:
        await shop.close()
