"""`paycore serve` as a real process: graceful shutdown on SIGTERM, `--workers N`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import grpc
import psutil
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2
from paycore.client import connect
from paycore.config import Settings
from paycore.v1 import account_pb2

from tests.helpers import create_merchant, free_port, health_status, http_get

pytestmark = pytest.mark.slow


def _environment(settings: Settings, grpc_port: int, metrics_port: int) -> dict[str, str]:
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith("PAYCORE_")},
        "PAYCORE_DATABASE_URLS": ",".join(settings.database_urls),
        "PAYCORE_REDIS_URL": settings.redis_url,
        "PAYCORE_REDIS_PREFIX": settings.redis_key_prefix,
        "PAYCORE_ADMIN_TOKEN": settings.admin_token,
        "PAYCORE_KEY_HASH_SECRET": settings.key_hash_secret,
        "PAYCORE_VAULT_KEY": settings.vault_key,
        "PAYCORE_CARD_FINGERPRINT_KEY": settings.card_fingerprint_key,
        "PAYCORE_GRPC_ADDR": f"127.0.0.1:{grpc_port}",
        "PAYCORE_METRICS_ADDR": f"127.0.0.1:{metrics_port}",
        "PAYCORE_SHUTDOWN_GRACE_SECONDS": "20",
        "PAYCORE_DB_POOL_SIZE": "3",
    }


@asynccontextmanager
async def _serve(
    settings: Settings, *arguments: str
) -> AsyncIterator[tuple[subprocess.Popen[bytes], int, int]]:
    grpc_port, metrics_port = free_port(), free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once; waits are async
        [sys.executable, "-m", "paycore.cli", "serve", *arguments],
        env=_environment(settings, grpc_port, metrics_port),
    )
    try:
        await _wait_serving(grpc_port)
        yield process, grpc_port, metrics_port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def _wait_serving(port: int, timeout_seconds: float = 30) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        try:
            status = await health_status(f"127.0.0.1:{port}", "paycore.v1.AccountService")
        except aio.AioRpcError:
            status = None
        if status == health_pb2.HealthCheckResponse.SERVING:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"nothing served on port {port}")


async def test_sigterm_lets_in_flight_calls_finish(migrated: Settings) -> None:
    async with _serve(migrated) as (process, port, _):
        target = f"127.0.0.1:{port}"
        async with connect(target, migrated.admin_token) as admin:
            merchant = await create_merchant(admin, target)
        # Hold a lock the next insert needs, so that a CreateSellerAccount stays in flight.
        blocker = await asyncpg.connect(_shard_url(migrated, merchant.merchant.id))
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("lock table seller_accounts in access exclusive mode")
        in_flight = asyncio.ensure_future(
            merchant.client.accounts.CreateSellerAccount(
                account_pb2.CreateSellerAccountRequest(
                    email="late@shop.test", country="US", default_currency="usd"
                ),
                timeout=30,
            )
        )
        await _until_lock_waited_on(blocker)
        process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)
        assert process.poll() is None, "the server quit with a call in flight"
        with pytest.raises(aio.AioRpcError) as refused:
            await merchant.client.accounts.GetMerchant(
                account_pb2.GetMerchantRequest(id=merchant.merchant.id), timeout=5
            )
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        await transaction.rollback()
        await blocker.close()
        seller = await in_flight
        assert seller.email == "late@shop.test"
        await merchant.client.close()
        assert await asyncio.to_thread(process.wait, 20) == 0


async def test_workers_share_the_port_and_their_metrics(migrated: Settings) -> None:
    async with _serve(migrated, "--workers", "2") as (process, port, metrics_port):
        children = psutil.Process(process.pid).children()
        assert len(children) == 2
        for _ in range(20):
            await health_status(f"127.0.0.1:{port}", "")
        text = await asyncio.to_thread(http_get, f"http://127.0.0.1:{metrics_port}/metrics")
        handled = [
            line
            for line in text.splitlines()
            if line.startswith("grpc_server_handled_total{")
            and 'grpc_method="Check"' in line
            and 'grpc_code="OK"' in line
        ]
        assert handled, text[:2000]
        assert sum(float(line.rsplit(" ", 1)[1]) for line in handled) >= 20
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 20) == 0
        assert not any(
            child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children
        )


def _shard_url(settings: Settings, merchant_id: str) -> str:
    from paycore.storage import Shards

    shards = Shards(settings)
    engine = shards.engine_for_merchant(merchant_id)
    index = shards.engines.index(engine)
    return settings.database_urls[index]


async def _until_lock_waited_on(connection: asyncpg.Connection) -> None:
    for _ in range(100):
        waiting = await connection.fetchval(
            "select count(*) from pg_locks"
            " where not granted and relation = 'seller_accounts'::regclass"
        )
        if waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the call never reached the database")
