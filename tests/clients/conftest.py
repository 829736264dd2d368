"""Real clients against real servers: the official Stripe SDKs (Python and Node) pointed at the
REST edge, a Node gRPC client, TLS. The edge here fronts a pay-in server wired to the PSP
simulator (tests/conftest.py's `payin`), so payments really run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio
from paycore.edge import start_edge
from paycore.v1 import account_pb2

from tests.payment.shop import PayIn


@dataclass(frozen=True)
class EdgeMerchant:
    """A merchant as a Stripe user sees it: the edge's URL and the merchant's keys."""

    url: str
    merchant_id: str
    secret_key: str
    publishable_key: str


@pytest_asyncio.fixture
async def edge_url(payin: PayIn) -> AsyncIterator[str]:
    server = await start_edge(payin.target, "127.0.0.1:0")
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


async def new_edge_merchant(payin: PayIn, url: str, name: str = "Stripe user") -> EdgeMerchant:
    merchant = await payin.admin.accounts.CreateMerchant(
        account_pb2.CreateMerchantRequest(
            name=name, email="dev@stripe-user.test", country="US", default_currency="usd"
        )
    )
    return EdgeMerchant(url, merchant.id, merchant.secret_key, merchant.publishable_key)


@pytest_asyncio.fixture
async def edge_merchant(payin: PayIn, edge_url: str) -> EdgeMerchant:
    return await new_edge_merchant(payin, edge_url)
