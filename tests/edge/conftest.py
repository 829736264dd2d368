"""The REST edge in-process, in front of the session's real gRPC server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import stripe
from aiohttp import ClientSession
from paycore.edge import EdgeServer, start_edge
from paycore.v1 import account_pb2

from tests.payment.shop import PayIn
from tests.payout.support import World


@pytest_asyncio.fixture(scope="session")
async def edge_server(target: str) -> AsyncIterator[EdgeServer]:
    server = await start_edge(target, "127.0.0.1:0", operator_routes=True)
    yield server
    await server.close()


@pytest_asyncio.fixture(scope="session")
async def http(edge_server: EdgeServer) -> AsyncIterator[ClientSession]:
    """A client whose relative URLs reach the edge."""
    async with ClientSession(base_url=f"http://127.0.0.1:{edge_server.port}") as session:
        yield session


@pytest_asyncio.fixture
async def world_http(world: World) -> AsyncIterator[ClientSession]:
    """An edge of its own in front of the pay-out `world`'s server (its clock, its PSP)."""
    edge = await start_edge(world.target, "127.0.0.1:0", operator_routes=True)
    async with ClientSession(base_url=f"http://127.0.0.1:{edge.port}") as session:
        yield session
    await edge.close()


@pytest_asyncio.fixture
async def payin_http(payin: PayIn) -> AsyncIterator[ClientSession]:
    """An edge of its own in front of the pay-in server (its PSP simulator: charges happen)."""
    server = await start_edge(payin.target, "127.0.0.1:0", operator_routes=True)
    try:
        async with ClientSession(base_url=f"http://127.0.0.1:{server.port}") as session:
            yield session
    finally:
        await server.close()


@pytest_asyncio.fixture
async def stripe_module(
    payin: PayIn, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[account_pb2.Merchant]:
    """stripe-python's module-level configuration (`stripe.api_key`, `stripe.api_base`, no
    retries: a test sees every answer) pointed at an edge of its own in front of the pay-in
    server; the merchant whose secret key it holds."""
    server = await start_edge(payin.target, "127.0.0.1:0")
    merchant = await payin.admin.accounts.CreateMerchant(
        account_pb2.CreateMerchantRequest(
            name="Stripe user", email="dev@stripe-user.test", country="US", default_currency="usd"
        )
    )
    monkeypatch.setattr(stripe, "api_key", merchant.secret_key)
    monkeypatch.setattr(stripe, "api_base", f"http://127.0.0.1:{server.port}")
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    try:
        yield merchant
    finally:
        await server.close()
