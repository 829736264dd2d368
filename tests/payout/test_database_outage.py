"""The merchant's database goes away while an instant payout is at the bank (its first
transaction committed, the transfer sent, the outcome not yet recorded). The call answers
UNAVAILABLE with a retry delay, and must not say that nothing was changed: the transfer was
made, and a client told otherwise would send a new request (a new key) and pay out twice. The
retry with the same key answers the one payout, paid, sent to the bank once; the books balance.
The database is reached through a TCP proxy the test owns (tests/security/proxy.py), never
stopped."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import grpc
import pytest
from paycore.config import Settings
from paycore.executor.models import ExecutionState
from paycore.v1 import payout_pb2

from tests.helpers import rich_error
from tests.payout.support import World, open_world
from tests.security.proxy import Mode, TcpProxy
from tests.security.test_faults import _through

P = payout_pb2
BANK_LATENCY_MS = 1500  # the transfer in flight while the database goes away


async def test_an_instant_payout_cut_off_by_the_database_is_not_told_unchanged(
    migrated: Settings, tmp_path: Path
) -> None:
    database = urlsplit(migrated.database_urls[0])
    if not (database.hostname and database.port):
        pytest.skip("needs PostgreSQL over TCP")
    proxy = await TcpProxy(database.hostname, database.port).start()
    try:
        async with open_world(
            migrated,
            tmp_path / "psp",
            database_urls=tuple(_through(url, proxy.port) for url in migrated.database_urls),
            database_connect_timeout_ms=1000,
            database_command_timeout_ms=1500,
        ) as world:
            shop = await world.shop()
            await shop.charge(50_000)
            await world.advance(2)
            await shop.bank_account()
            await world.psp.set_faults(latency_ms=BANK_LATENCY_MS)
            request = P.CreatePayoutRequest(
                amount=1000, currency="usd", method=P.PAYOUT_METHOD_INSTANT
            )
            key = (("idempotency-key", "cut-off"),)
            call = asyncio.ensure_future(shop.client.payouts.CreatePayout(request, metadata=key))
            await _until_at_the_bank(world, shop.id)
            proxy.set(Mode.DOWN)
            with pytest.raises(grpc.aio.AioRpcError) as cut_off:
                await call
            error = rich_error(cut_off.value)
            proxy.set(Mode.UP)

            assert (error.code, error.reason) == (
                grpc.StatusCode.UNAVAILABLE,
                "DATABASE_UNAVAILABLE",
            )
            assert error.retry_delay_ms
            assert "nothing was changed" not in error.message, error.message
            assert "idempotency-key" in error.message, error.message
            await world.psp.set_faults(latency_ms=0)
            await asyncio.sleep(2)  # the cut-off request's lease (executor_lease_ms) runs out
            retried = await shop.client.payouts.CreatePayout(request, metadata=key)
            assert retried.status == P.PAYOUT_STATUS_PAID, retried
            assert [p.id for p in await shop.payouts()] == [retried.id]
            assert await world.platform.pay_in.psp.bank_payout(retried.id) is not None
            assert world.psp.count("bank_payouts") == 1
            await shop.assert_identity()
            await shop.assert_clean()
    finally:
        proxy.set(Mode.UP)
        await proxy.close()


async def _until_at_the_bank(world: World, merchant_id: str) -> None:
    """Until the payout's first transaction committed (its execution running: at the bank)."""
    for _ in range(500):
        running = await world.sql(
            merchant_id,
            "SELECT 1 FROM executions e JOIN payouts p ON p.merchant_id = e.merchant_id"
            " AND p.execution_id = e.id WHERE p.merchant_id = :m AND e.state = :running",
            m=merchant_id,
            running=ExecutionState.RUNNING.value,
        )
        if running:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the payout never reached the bank")
