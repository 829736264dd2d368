"""The PSP's feeds paycore polls (disputes, 3-D Secure authentications, early fraud warnings):
each read in batches from a position leased on the home shard (`FeedRepository`, one row per
feed), each item applied before the position moves past it, so a batch read again after a
crash applies nothing twice (each feed's `apply` is idempotent)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from paycore.dispute.repository import FeedRepository
from paycore.psp.client import PspError
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

FEED_BATCH_MAX = 100
FEED_LEASE_SECONDS = 60
Item = TypeVar("Item")


async def read_feed(
    home: AsyncEngine,
    name: str,
    now: int,
    fetch: Callable[[int], Awaitable[tuple[Sequence[Item], bool]]],
    apply: Callable[[Item], Awaitable[None]],
    sequence: Callable[[Item], int],
) -> int:
    """One batch of the feed `name` after its position (`fetch(position)`), each item applied
    in order; the position ends past the last one applied, also when the PSP or an item
    fails. Answers how far it moved (0 while another reader holds the lease)."""
    async with home.begin() as connection:
        position = await FeedRepository(connection, name).claim(now, FEED_LEASE_SECONDS)
    if position is None:
        return 0
    applied = position
    try:
        items, _ = await fetch(position)
        for item in items:
            await apply(item)
            applied = sequence(item)
    except PspError as error:
        log.warning("the PSP's feed %s did not answer (%s); read again later", name, error.code)
    finally:
        async with home.begin() as connection:
            await FeedRepository(connection, name).advance(applied)
    return applied - position
