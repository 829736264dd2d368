"""The webhook tests' platform: a server of its own that allows http and 127.0.0.1 endpoints
(as `paycore dev` does), in front of a fresh PSP simulator, and deliverers driven by a manual
clock so that retries hours apart happen at once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from paycore.app import Platform, build_platform, start_server
from paycore.client import Paycore, connect
from paycore.config import Settings
from paycore.customer.vault import Vault
from paycore.events import Recorder
from paycore.events.servicer import event_json
from paycore.runtime.server import GrpcServer
from paycore.storage.schema import webhook_attempts, webhook_deliveries, webhook_endpoints
from paycore.webhooks.delivering import CLAIM_BATCH_MAX, Deliverer, DeliveryLimits
from paycore.webhooks.sealing import SecretBox
from paycore.webhooks.sender import Sender
from paycore.webhooks.servicer.messages import endpoint_message
from prometheus_client import CollectorRegistry
from sqlalchemy import delete

from tests.helpers import PspSimulator
from tests.payment.shop import NO_LIMITS, PAYIN_TIMINGS, Shop, open_shop
from tests.webhooks.receivers import Answer, Receiver


class ManualClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Hooks:
    platform: Platform
    server: GrpcServer
    admin: Paycore
    settings: Settings
    clock: ManualClock
    receivers: list[Receiver] = field(default_factory=list)
    deliverers: list[Deliverer] = field(default_factory=list)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    async def receiver(self, answer: Answer) -> Receiver:
        receiver = await Receiver(answer).start()
        self.receivers.append(receiver)
        return receiver

    def deliverer(
        self,
        *,
        timeout_seconds: float = 5.0,
        allow_private: bool = True,
        concurrency: int = 4,
        claim_batch_max: int = CLAIM_BATCH_MAX,
    ) -> Deliverer:
        deliverer = Deliverer(
            Sender(
                timeout_seconds=timeout_seconds,
                connections_max=64,
                connections_per_host_max=64,
                allow_private=allow_private,
            ),
            SecretBox(Vault.from_setting(self.settings.vault_key)),
            event_json,
            Recorder(endpoint_message),
            DeliveryLimits(
                in_flight_max=64,
                endpoint_concurrency=concurrency,
                lease=timedelta(seconds=timeout_seconds + 30),
                claim_batch_max=claim_batch_max,
            ),
            clock=self.clock,
        )
        self.deliverers.append(deliverer)
        return deliverer

    async def deliver(self, deliverer: Deliverer, rounds_max: int = 100) -> None:
        """Runs the job on every shard and lets its attempts finish, until nothing is left
        that is due now (on the manual clock)."""
        for _ in range(rounds_max):
            done = 0
            for engine in self.platform.shards.engines:
                done += await deliverer.run(engine)
            await deliverer.settle()
            if not done:
                return
        raise AssertionError("deliveries did not settle")

    async def until(
        self, deliverer: Deliverer, condition: Callable[[], bool], seconds: float = 20.0
    ) -> None:
        """Runs the job (without waiting for attempts) until `condition` holds."""
        import asyncio

        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not condition():
            if loop.time() > deadline:
                raise AssertionError("the condition did not come true in time")
            for engine in self.platform.shards.engines:
                await deliverer.run(engine)
            await asyncio.sleep(0.02)


@pytest_asyncio.fixture
async def hooks(migrated: Settings, psp: PspSimulator) -> AsyncIterator[Hooks]:
    settings = migrated.with_overrides(
        psp_url=psp.url,
        rate_limits_per_second=NO_LIMITS,
        webhook_allow_http=True,
        webhook_allow_private=True,
        **PAYIN_TIMINGS,
    )
    platform = build_platform(settings, CollectorRegistry())
    server = await start_server(platform, "127.0.0.1:0")
    admin = connect(f"127.0.0.1:{server.port}", settings.admin_token)
    hooks = Hooks(platform, server, admin, settings, ManualClock())
    try:
        yield hooks
    finally:
        for deliverer in hooks.deliverers:
            await deliverer.close(platform.shards.engines, 1.0)
        # Later tests' deliverers must not find this test's endpoints and their deliveries.
        for engine in platform.shards.engines:
            async with engine.begin() as connection:
                for table in (webhook_attempts, webhook_deliveries, webhook_endpoints):
                    await connection.execute(delete(table))
        for receiver in hooks.receivers:
            await receiver.stop()
        await admin.close()
        await server.stop(1)
        await platform.close()


@pytest_asyncio.fixture
async def shop(hooks: Hooks) -> AsyncIterator[Shop]:
    opened = await open_shop(hooks.admin, hooks.target, hooks.settings.admin_token, hooks.platform)
    try:
        yield opened
    finally:
        await opened.close()


Drive = Callable[[Deliverer], Awaitable[None]]
