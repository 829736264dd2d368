"""Pay-in tests run a server of their own, wired to a fresh PSP simulator, with short executor
timings (leases, backoff, breaker) so that retries, recoveries and the breaker happen within a
test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio
from paycore.app import Platform, build_platform
from paycore.client import Paycore, connect
from paycore.config import Settings
from paycore.runtime.server import GrpcServer, start_grpc_server
from prometheus_client import CollectorRegistry

from tests.payment.shop import Shop, open_shop

NO_LIMITS = {"payments": 0, "subscriptions": 0, "other": 0}
PAYIN_TIMINGS = {
    "psp_timeout_ms": 400,
    "executor_lease_ms": 1500,
    "executor_max_attempts": 3,
    "executor_retry_base_ms": 20,
    "executor_inline_wait_ms": 300,
    "psp_breaker_threshold": 3,
    "psp_breaker_open_ms": 600,
}


@dataclass
class PayIn:
    platform: Platform
    server: GrpcServer
    admin: Paycore
    admin_token: str

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    async def run_worker_once(self) -> int:
        """What `paycore worker` does for executions: one pass over every shard."""
        executor = self.platform.executor
        return sum([await executor.resume_due(engine) for engine in self.platform.shards.engines])


@pytest_asyncio.fixture
async def payin(migrated: Settings, psp: object) -> AsyncIterator[PayIn]:
    settings = migrated.with_overrides(psp_url=psp.url, rate_limits_per_second=NO_LIMITS, **PAYIN_TIMINGS)  # type: ignore[attr-defined]
    platform = build_platform(settings, CollectorRegistry())
    server = await start_grpc_server(platform, "127.0.0.1:0")
    admin = connect(f"127.0.0.1:{server.port}", settings.admin_token)
    try:
        yield PayIn(platform, server, admin, settings.admin_token)
    finally:
        await admin.close()
        await server.stop(1)
        await platform.close()


@pytest_asyncio.fixture
async def shop(payin: PayIn) -> AsyncIterator[Shop]:
    opened = await open_shop(payin.admin, payin.target, payin.admin_token)
    try:
        yield opened
    finally:
        await opened.close()
