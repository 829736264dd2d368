"""The REST edge in-process, in front of the session's real gRPC server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from aiohttp import ClientSession
from paycore.edge import EdgeServer, start_edge

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
