"""SIGKILL in the middle of payouts: the server (instant payouts in flight at a slow bank) or the
worker (automatic payouts being made and sent). After a restart, the worker's resume and the
clients' retries (same idempotency keys) finish them: one transfer at the bank per payout,
none lost, the books balanced."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import pytest_asyncio
from grpc import aio
from paycore.app import Platform, build_platform, start_server
from paycore.client import connect
from paycore.config import Settings
from paycore.executor.models import ExecutionState
from paycore.psp.client import PspClient
from paycore.storage.migrate import migrate_all
from paycore.tools.psp.store import bank_payout_rows
from paycore.v1 import payout_pb2
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from tests.helpers import (
    PspSimulator,
    free_port,
    fresh_databases,
    server_environment,
    serving_process,
)
from tests.payment.shop import NO_LIMITS
from tests.payout.support import DAY, Clock, PayoutShop, World

pytestmark = pytest.mark.slow
P = payout_pb2
PAYOUTS = 8
LEASE = {"PAYCORE_EXECUTOR_LEASE_MS": "1500", "PAYCORE_PSP_TIMEOUT_MS": "3000"}


@asynccontextmanager
async def three_days_ago(settings: Settings, psp: PspSimulator) -> AsyncIterator[World]:
    """An in-process server whose pay-out clock stands three days back, so what it charges is
    available today; and the availability job run on today's clock."""
    clock = Clock(time.time() - 3 * DAY)
    configured = settings.with_overrides(psp_url=psp.url, rate_limits_per_second=NO_LIMITS)
    platform = build_platform(configured, CollectorRegistry(), clock)
    server = await start_server(platform, "127.0.0.1:0")
    admin = connect(f"127.0.0.1:{server.port}", configured.admin_token)
    try:
        yield World(platform, server, admin, configured.admin_token, clock, psp)
    finally:
        await admin.close()
        await server.stop(1)
        await platform.close()


async def settle_today(settings: Settings) -> None:
    platform = build_platform(settings, CollectorRegistry())
    try:
        for engine in platform.shards.engines:
            while await platform.pay_out.availability.run(engine):
                pass
    finally:
        await platform.close()


async def run_worker_once(settings: Settings, psp: PspSimulator) -> None:
    """`paycore worker --once`, awaited: the simulator runs in this event loop and must answer."""
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "paycore.cli",
        "worker",
        "--once",
        env=server_environment(
            settings,
            free_port(),
            free_port(),
            PAYCORE_WORKER_METRICS_ADDR=f"127.0.0.1:{free_port()}",
            PAYCORE_PSP_URL=psp.url,
            **LEASE,
        ),
    )
    assert await asyncio.wait_for(worker.wait(), 120) == 0


async def payouts_in_flight(platform: Platform, merchant_ids: list[str]) -> bool:
    for merchant_id in merchant_ids:
        async with platform.shards.read(merchant_id) as connection:
            rows = await connection.execute(
                text(
                    "select e.state from executions e join payouts p"
                    " on p.merchant_id = e.merchant_id and p.execution_id = e.id"
                    " where p.merchant_id = :m"
                ),
                {"m": merchant_id},
            )
            if any(row.state == ExecutionState.RUNNING.value for row in rows.all()):
                return True
    return False


async def until_in_flight(settings: Settings, merchant_ids: list[str]) -> None:
    platform = build_platform(settings, CollectorRegistry())
    try:
        for _ in range(400):
            if await payouts_in_flight(platform, merchant_ids):
                return
            await asyncio.sleep(0.02)
        raise AssertionError("no payout reached the bank")
    finally:
        await platform.close()


async def assert_sent_once(psp: PspSimulator, payout_ids: list[str]) -> None:
    client = PspClient(psp.url)
    try:
        for payout_id in payout_ids:
            found = await client.bank_payout(payout_id)
            assert found is not None, payout_id
    finally:
        await client.close()
    rows = bank_payout_rows(psp.server.simulator.bank.store.path, 0, 2**62)
    references = [row.reference for row in rows]
    assert sorted(references) == sorted(payout_ids)  # one transfer per payout, none twice


async def _funded_shops(world: World, count: int, amount: int) -> list[PayoutShop]:
    shops = []
    for index in range(count):
        shop = await world.shop(f"Crash {index}")
        await shop.charge(amount)
        await shop.bank_account()
        shops.append(shop)
    return shops


@pytest_asyncio.fixture
async def alone(migrated: Settings) -> AsyncIterator[Settings]:
    """Databases of the test's own: the worker sweeps every merchant, so on the session's
    databases it would send other tests' due payouts to this test's bank too."""
    async with fresh_databases(migrated.database_urls) as urls:
        await migrate_all(urls)
        yield migrated.with_overrides(database_urls=urls)


async def test_sigkill_of_the_server_mid_payout_then_recovery_pays_each_once(
    alone: Settings, psp: PspSimulator
) -> None:
    async with three_days_ago(alone, psp) as world:
        [shop] = await _funded_shops(world, 1, 50_000)
        merchant_id, secret_key = shop.id, shop.merchant.secret_key
        await shop.close()
    await settle_today(alone)
    await psp.set_faults(latency_ms=500)  # so that the kill lands while payouts are in flight
    extra = {"PAYCORE_PSP_URL": psp.url, "PAYCORE_RATE_LIMITS": "other=0", **LEASE}
    keys = [f"crash-payout-{index}" for index in range(PAYOUTS)]
    request = P.CreatePayoutRequest(amount=1000, currency="usd", method=P.PAYOUT_METHOD_INSTANT)
    async with serving_process(alone, **extra) as (process, port, _):
        client = connect(f"127.0.0.1:{port}", secret_key)
        calls = [
            asyncio.ensure_future(
                client.payouts.CreatePayout(request, metadata=(("idempotency-key", key),))
            )
            for key in keys
        ]
        await until_in_flight(alone, [merchant_id])
        process.send_signal(signal.SIGKILL)
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        await client.close()
    assert any(isinstance(outcome, aio.AioRpcError) for outcome in outcomes)

    await psp.set_faults(latency_ms=0)
    await asyncio.sleep(1.6)  # the dead runner's leases run out
    await run_worker_once(alone, psp)
    async with (
        serving_process(alone, **extra) as (_, port, _),
        connect(f"127.0.0.1:{port}", secret_key) as client,
    ):
        retried = [
            await client.payouts.CreatePayout(request, metadata=(("idempotency-key", key),))
            for key in keys
        ]
        listed = await client.payouts.ListPayouts(P.ListPayoutsRequest(limit=100))
    assert len({payout.id for payout in retried}) == PAYOUTS
    assert sorted(p.id for p in listed.data) == sorted(p.id for p in retried)
    assert {p.status for p in listed.data} == {P.PAYOUT_STATUS_PAID}
    await assert_sent_once(psp, [p.id for p in retried])
    await _assert_clean(alone, [merchant_id])


async def test_sigkill_of_the_worker_mid_automatic_payouts_then_recovery_pays_each_once(
    alone: Settings, psp: PspSimulator
) -> None:
    async with three_days_ago(alone, psp) as world:
        shops = await _funded_shops(world, 6, 3000)
        for shop in shops:
            await shop.schedule(P.PAYOUT_SCHEDULE_INTERVAL_DAILY)
        merchant_ids = [shop.id for shop in shops]
        for shop in shops:
            await shop.close()
        # The schedules were set "three days ago": their next run is that day, due now.
    await settle_today(alone)
    await psp.set_faults(latency_ms=700)
    environment = server_environment(
        alone,
        free_port(),
        free_port(),
        PAYCORE_WORKER_METRICS_ADDR=f"127.0.0.1:{free_port()}",
        PAYCORE_PSP_URL=psp.url,
        **LEASE,
    )
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "paycore.cli", "worker", env=environment
    )
    try:
        await until_in_flight(alone, merchant_ids)
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    await psp.set_faults(latency_ms=0)
    await asyncio.sleep(1.6)
    await run_worker_once(alone, psp)
    await run_worker_once(alone, psp)  # a second pass finds nothing more to do

    platform = build_platform(alone, CollectorRegistry())
    try:
        payout_ids = []
        for merchant_id in merchant_ids:
            async with platform.shards.read(merchant_id) as connection:
                rows = (
                    await connection.execute(
                        text("select id, status, automatic from payouts where merchant_id = :m"),
                        {"m": merchant_id},
                    )
                ).all()
            assert len(rows) == 1, rows  # one automatic payout for the period, none lost
            assert rows[0].automatic and rows[0].status == "in_transit", rows
            payout_ids.append(rows[0].id)
    finally:
        await platform.close()
    await assert_sent_once(psp, payout_ids)
    await _assert_clean(alone, merchant_ids)


async def _assert_clean(settings: Settings, merchant_ids: list[str]) -> None:
    platform = build_platform(settings, CollectorRegistry())
    try:
        for merchant_id in merchant_ids:
            report = await platform.ledger.check_integrity(merchant_id, "usd")
            assert report.ok, report
    finally:
        await platform.close()
