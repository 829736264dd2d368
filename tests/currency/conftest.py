"""`fx_world`: the pay-out world (tests/payout/support.py) with no exchange rates on any shard:
the databases live for the whole session, and each currency test sets the rates it means."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy import text

from tests.payout.support import World


@pytest_asyncio.fixture
async def fx_world(world: World) -> AsyncIterator[World]:
    for engine in world.platform.shards.engines:
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM exchange_rates"))
    yield world
