"""Real clients against real servers: the official Stripe SDKs (Python and Node) pointed at the
REST edge, a Node gRPC client, TLS. The edge here fronts a pay-in server wired to the PSP
simulator (tests/conftest.py's `payin`), so payments really run; `stripe_world` fronts the
pay-out world instead (its clock moves funds, payouts and disputes on) and delivers webhooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
import stripe
from aiohttp import ClientSession, web
from paycore.app import build_platform, start_server
from paycore.client import Tls
from paycore.config import Settings
from paycore.edge import start_edge
from paycore.runtime.server import GrpcServer
from paycore.storage.schema import webhook_attempts, webhook_deliveries, webhook_endpoints
from paycore.v1 import account_pb2
from paycore.worker import Worker
from paycore.worker.jobs import webhook_delivery
from paycore.worker.metrics import WorkerMetrics
from prometheus_client import CollectorRegistry
from sqlalchemy import delete

from tests.clients.certificates import Authority, Issued
from tests.conftest import serving_payin
from tests.dispute.support import DISPUTE_DELAY_SECONDS, read_feed
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn
from tests.payout.support import World, open_world


@dataclass(frozen=True)
class EdgeMerchant:
    """A merchant as a Stripe user sees it: the edge's URL and the merchant's keys."""

    url: str
    merchant_id: str
    secret_key: str
    publishable_key: str


@pytest_asyncio.fixture
async def payin(migrated: Settings, psp: PspSimulator) -> AsyncIterator[PayIn]:
    """tests/conftest.py's `payin` with the PSP's timeout and the executor's in-line wait of a
    healthy deployment's order (its 400 ms and 300 ms are for the retry tests): the SDKs' flows
    read a confirmed intent succeeded at once, where a busy machine's slow PSP answer made it
    `processing` and no worker runs here to finish it."""
    async with serving_payin(
        migrated, psp, psp_timeout_ms=5000, executor_inline_wait_ms=5000
    ) as serving:
        yield serving


@pytest_asyncio.fixture
async def edge_url(payin: PayIn) -> AsyncIterator[str]:
    server = await start_edge(payin.target, "127.0.0.1:0")
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


async def new_edge_merchant(
    owner: PayIn | World, url: str, name: str = "Stripe user"
) -> EdgeMerchant:
    merchant = await owner.admin.accounts.CreateMerchant(
        account_pb2.CreateMerchantRequest(
            name=name, email="dev@stripe-user.test", country="US", default_currency="usd"
        )
    )
    return EdgeMerchant(url, merchant.id, merchant.secret_key, merchant.publishable_key)


@pytest_asyncio.fixture
async def edge_merchant(payin: PayIn, edge_url: str) -> EdgeMerchant:
    return await new_edge_merchant(payin, edge_url)


@pytest.fixture
def stripe_module(edge_merchant: EdgeMerchant, monkeypatch: pytest.MonkeyPatch) -> EdgeMerchant:
    """stripe-python's module-level client (`stripe.api_key`, `stripe.api_base`) pointed at
    `edge_merchant`, as the Stripe quickstarts configure it; no retries."""
    monkeypatch.setattr(stripe, "api_key", edge_merchant.secret_key)
    monkeypatch.setattr(stripe, "api_base", edge_merchant.url)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    return edge_merchant


@dataclass(frozen=True)
class StripeWorld:
    """A merchant of the pay-out `world` (tests/payout/support.py: paycore and the PSP and bank
    simulator on one clock the test moves, the pay-out jobs and the dispute feed run by hand)
    seen through an edge, while the worker's webhook_delivery job runs as `paycore worker`
    runs it, to receivers on 127.0.0.1 (allowed as `paycore dev` allows them)."""

    world: World
    merchant: EdgeMerchant


@pytest_asyncio.fixture
async def stripe_world(migrated: Settings, tmp_path: Path) -> AsyncIterator[StripeWorld]:
    # The PSP's timeout and in-line wait as `payin`'s below: a confirmed intent the SDK flows
    # read must have succeeded, not be `processing` behind a slow answer on a busy machine.
    async with open_world(
        migrated,
        tmp_path / "psp",
        webhook_allow_http=True,
        webhook_allow_private=True,
        psp_timeout_ms=5000,
        executor_inline_wait_ms=5000,
    ) as world:
        engines = world.platform.shards.engines
        edge = await start_edge(world.target, "127.0.0.1:0")
        worker = Worker(
            [webhook_delivery(world.platform.deliverer)],
            engines,
            WorkerMetrics(CollectorRegistry()),
        )
        stop = asyncio.Event()
        working = asyncio.create_task(worker.run(stop, 1.0))
        try:
            url = f"http://127.0.0.1:{edge.port}"
            yield StripeWorld(world, await new_edge_merchant(world, url))
        finally:
            stop.set()
            await working
            await world.platform.deliverer.close(engines, 1.0)
            await edge.close()
            # Later tests' deliverers must not find this test's endpoints and deliveries.
            for engine in engines:
                async with engine.begin() as connection:
                    for table in (webhook_attempts, webhook_deliveries, webhook_endpoints):
                        await connection.execute(delete(table))


@pytest.fixture
def stripe_merchant(stripe_world: StripeWorld, monkeypatch: pytest.MonkeyPatch) -> StripeWorld:
    """stripe-python's module-level client (`stripe.api_key`, `stripe.api_base`) pointed at
    `stripe_world`'s merchant, as `stripe_module` points it at `edge_merchant`; no retries."""
    monkeypatch.setattr(stripe, "api_key", stripe_world.merchant.secret_key)
    monkeypatch.setattr(stripe, "api_base", stripe_world.merchant.url)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    return stripe_world


async def disputed_payment(world: World, amount: int = 2000) -> stripe.PaymentIntent:
    """A payment (usd, through the module-level client) with Stripe's test card whose charge
    the buyer's bank disputes, once the dispute feed has opened the dispute."""
    intent = await asyncio.to_thread(
        lambda: stripe.PaymentIntent.create(
            amount=amount, currency="usd", payment_method="pm_card_createDispute", confirm=True
        )
    )
    world.clock.advance(DISPUTE_DELAY_SECONDS + 1)
    await read_feed(world)
    return intent


@pytest_asyncio.fixture
async def lossy_proxy(edge_url: str) -> AsyncIterator[tuple[str, list[tuple[str, str]]]]:
    """A proxy to the edge that loses the answer to the first POST /v1/payment_intents after
    the edge has given it: the payment happened, the client saw a dropped connection."""
    seen: list[tuple[str, str]] = []
    async with ClientSession() as upstream:

        async def forward(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            headers = {
                name: value
                for name, value in request.headers.items()
                if name.lower() not in ("host", "content-length", "transfer-encoding")
            }
            seen.append((f"{request.method} {request.path}", headers.get("Idempotency-Key", "")))
            url = f"{edge_url}{request.path_qs}"
            async with upstream.request(
                request.method, url, data=body, headers=headers
            ) as response:
                answer = await response.read()
                status = response.status
            first_post = len(seen) == 1 and request.method == "POST"
            if first_post and request.path == "/v1/payment_intents" and request.transport:
                request.transport.close()  # the answer is lost on the way back
                return web.Response(status=500)
            return web.Response(body=answer, status=status, content_type="application/json")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            yield f"http://127.0.0.1:{port}", seen
        finally:
            await runner.cleanup()


# -- TLS: certificates made in the test (tests/clients/certificates.py), servers serving them --


class Pki:
    def __init__(self, folder: Path) -> None:
        self.ca = Authority(folder, "paycore-test-ca")
        self.server = self.ca.issue("paycore-server", server=True)
        self.client = self.ca.issue("billing-service", server=False)
        self.stranger = Authority(folder, "other-ca").issue("stranger", server=False)

    def trust(self, client: Issued | None = None) -> Tls:
        return Tls(
            root_certificates=self.ca.cert_file.read_bytes(),
            certificate_chain=client.cert if client else None,
            private_key=client.key if client else None,
        )


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


async def tls_serving(settings: Settings) -> AsyncIterator[tuple[GrpcServer, Settings]]:
    """A platform serving gRPC with `settings` (their TLS) on a free port of 127.0.0.1."""
    platform = build_platform(settings, CollectorRegistry())
    server = await start_server(platform, "127.0.0.1:0")
    try:
        yield server, settings
    finally:
        await server.stop(0)
        await platform.close()


@pytest_asyncio.fixture
async def mtls_server(migrated: Settings, pki: Pki) -> AsyncIterator[tuple[GrpcServer, Settings]]:
    settings = migrated.with_overrides(
        grpc_tls_cert_file=str(pki.server.cert_file),
        grpc_tls_key_file=str(pki.server.key_file),
        grpc_tls_client_ca_file=str(pki.ca.cert_file),
    )
    async for served in tls_serving(settings):
        yield served


@pytest_asyncio.fixture
async def tls_server(migrated: Settings, pki: Pki) -> AsyncIterator[tuple[GrpcServer, Settings]]:
    settings = migrated.with_overrides(
        grpc_tls_cert_file=str(pki.server.cert_file), grpc_tls_key_file=str(pki.server.key_file)
    )
    async for served in tls_serving(settings):
        yield served
