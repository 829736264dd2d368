"""`paycore serve` as a real process: graceful shutdown on SIGTERM, `--workers N`."""

from __future__ import annotations

import asyncio
import signal

import asyncpg
import grpc
import psutil
import pytest
from grpc import aio
from paycore.client import connect
from paycore.config import Settings
from paycore.v1 import account_pb2

from tests.helpers import (
    create_merchant,
    health_status,
    http_get,
    serving_process,
)

pytestmark = pytest.mark.slow


async def test_sigterm_lets_in_flight_calls_finish(migrated: Settings) -> None:
    async with serving_process(migrated) as (process, port, _):
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
    async with serving_process(migrated, "--workers", "2") as (process, port, metrics_port):
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


async def test_workers_export_their_pools_use(migrated: Settings) -> None:
    """The pool gauge behind PaycoreDbPoolSaturated and the dashboard's pool panel is read from
    the pools at scrape time in one process; with `--workers N` the supervisor serves what the
    workers wrote, so each worker publishes its pools' use: one series per worker (pid)."""
    async with serving_process(migrated, "--workers", "2") as (process, port, metrics_port):
        children = {str(child.pid) for child in psutil.Process(process.pid).children()}
        await health_status(f"127.0.0.1:{port}", "")
        pools: dict[tuple[str, str, str], float] = {}
        for _ in range(50):
            text = await asyncio.to_thread(http_get, f"http://127.0.0.1:{metrics_port}/metrics")
            pools = _pool_samples(text)
            if {pid for pid, _, _ in pools} == children:
                break
            await asyncio.sleep(0.1)
        for pid in children:
            for shard in range(len(migrated.database_urls)):
                assert pools.get((pid, str(shard), "limit"), 0) > 0, pools
                assert (pid, str(shard), "checked_out") in pools, pools
                assert (pid, str(shard), "idle") in pools, pools
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 20) == 0


async def test_workers_stop_when_their_supervisor_is_killed(migrated: Settings) -> None:
    """A supervisor killed outright (SIGKILL, the OOM killer) cannot pass SIGTERM on: its
    workers must not keep serving the shared port (SO_REUSEPORT) beside the next start."""
    async with serving_process(migrated, "--workers", "2") as (process, _, _):
        children = psutil.Process(process.pid).children()
        assert len(children) == 2
        process.kill()
        await asyncio.to_thread(process.wait, 10)
        _, alive = await asyncio.to_thread(psutil.wait_procs, children, 30)
        serving = [child for child in alive if _running(child)]
        for child in serving:
            child.kill()
        assert not serving, "the workers outlived their supervisor"


def _running(process: psutil.Process) -> bool:
    """Not exited (a zombie has exited: nobody reaped it yet)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _pool_samples(exposition: str) -> dict[tuple[str, str, str], float]:
    """(pid, shard, state) -> value of every paycore_db_pool_connections sample."""
    samples = {}
    for line in exposition.splitlines():
        if line.startswith("paycore_db_pool_connections{"):
            labels_text, value = line[len("paycore_db_pool_connections{") :].rsplit("} ", 1)
            labels = dict(
                pair.split("=", 1) for pair in labels_text.replace('"', "").split(",") if pair
            )
            samples[(labels.get("pid", ""), labels["shard"], labels["state"])] = float(value)
    return samples


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
