"""One physical shard away (its PostgreSQL unreachable through a TCP proxy the test owns, never
stopped): the merchants of the other shard go on paying, the away shard's answer UNAVAILABLE
with a reason and a retry delay and change nothing, health stays SERVING (a readiness probe
that took every serve pod out for one shard would stop every merchant), and once the shard is
back the retry with the same key pays once; the books balance on both."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import grpc
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2
from paycore.app import build_platform, start_server
from paycore.client import connect
from paycore.config import Settings
from paycore.ids import Prefix, logical_shard_of
from paycore.v1 import payment_pb2
from prometheus_client import CollectorRegistry

from tests.helpers import PspSimulator, health_status, rich_error
from tests.payment.shop import NO_LIMITS, PAYIN_TIMINGS, Shop, fee, good_card, open_shop
from tests.security.proxy import Mode, TcpProxy
from tests.security.test_faults import _through

SERVING = health_pb2.HealthCheckResponse.SERVING
OUTAGE_SECONDS = 3.0  # three of the health watcher's checks (one a second)


async def test_one_shard_away_leaves_the_others_serving(
    migrated: Settings, psp: PspSimulator
) -> None:
    away = urlsplit(migrated.database_urls[1])
    if not (away.hostname and away.port):
        pytest.skip("needs PostgreSQL over TCP")
    proxy = await TcpProxy(away.hostname, away.port).start()
    settings = migrated.with_overrides(
        database_urls=(
            migrated.database_urls[0],
            _through(migrated.database_urls[1], proxy.port),
        ),
        psp_url=psp.url,
        rate_limits_per_second=NO_LIMITS,
        database_connect_timeout_ms=1000,
        database_command_timeout_ms=1500,
        **PAYIN_TIMINGS,
    )
    platform = build_platform(settings, CollectorRegistry())
    server = await start_server(platform, "127.0.0.1:0")
    target = f"127.0.0.1:{server.port}"
    admin = connect(target, settings.admin_token)
    by_shard: dict[int, Shop] = {}
    opened: list[Shop] = []
    try:
        while len(by_shard) < 2:  # merchants are placed by their ids: open until each has one
            shop = await open_shop(admin, target, settings.admin_token)
            opened.append(shop)
            physical = platform.shards.physical_of_logical(
                logical_shard_of(shop.id, Prefix.ACCOUNT)
            )
            by_shard.setdefault(physical, shop)
        up, down = by_shard[0], by_shard[1]
        cards = {shop.id: await shop.card(good_card()) for shop in (up, down)}

        def payment(shop: Shop) -> payment_pb2.CreatePaymentIntentRequest:
            return payment_pb2.CreatePaymentIntentRequest(
                amount=1000, currency="usd", payment_method=cards[shop.id], confirm=True
            )

        proxy.set(Mode.DOWN)
        with pytest.raises(aio.AioRpcError) as refused:
            await down.client.payments.CreatePaymentIntent(
                payment(down), metadata=(("idempotency-key", "away"),), timeout=10
            )
        error = rich_error(refused.value)
        assert (error.code, error.reason) == (grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE")
        assert error.retry_delay_ms
        paid = await up.client.payments.CreatePaymentIntent(payment(up), timeout=10)
        assert paid.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
        health = []
        until = time.monotonic() + OUTAGE_SECONDS
        while time.monotonic() < until:
            health.append(await health_status(target, "paycore.v1.PaymentService"))
            health.append(await health_status(target, ""))
            await asyncio.sleep(0.25)
        assert set(health) == {SERVING}, health

        proxy.set(Mode.UP)
        retried = await down.client.payments.CreatePaymentIntent(
            payment(down), metadata=(("idempotency-key", "away"),), timeout=10
        )
        assert retried.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
        for shop in (up, down):
            listed = await shop.client.payments.ListPaymentIntents(
                payment_pb2.ListPaymentIntentsRequest()
            )
            assert len(listed.data) == 1, listed
            assert (await shop.balance())[1] == {"usd": 1000 - fee(1000)}
            await shop.assert_books_balance()
    finally:
        proxy.set(Mode.UP)
        for shop in opened:
            await shop.close()
        await admin.close()
        await server.stop(1)
        await platform.close()
        await proxy.close()
