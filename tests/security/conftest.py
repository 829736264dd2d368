"""A server of its own for the suites that call every method many times from one address:
no rate limits and no failed-authentication throttle, which would answer most of their calls
RESOURCE_EXHAUSTED instead of what they test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio
from paycore.app import build_platform, start_server
from paycore.config import Settings
from prometheus_client import CollectorRegistry

from tests.payment.shop import NO_LIMITS


@dataclass(frozen=True)
class OpenServer:
    target: str
    served: frozenset[str]
    settings: Settings


@pytest_asyncio.fixture(scope="module")
async def open_server(migrated: Settings) -> AsyncIterator[OpenServer]:
    settings = migrated.with_overrides(rate_limits_per_second=NO_LIMITS, auth_failure_burst=0)
    platform = build_platform(settings, CollectorRegistry())
    server = await start_server(platform, "127.0.0.1:0")
    try:
        yield OpenServer(f"127.0.0.1:{server.port}", frozenset(server.serving), settings)
    finally:
        await server.stop(1)
        await platform.close()
