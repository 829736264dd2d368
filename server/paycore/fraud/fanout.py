"""Operator lists over every shard (reviews and blocklist items of every merchant): one reader
per physical shard, pages merged newest first. Never on a payment's path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol, TypeVar

from paycore.account.repository import require_merchant
from paycore.storage import Shards
from paycore.storage.reads import Cursor, Page
from sqlalchemy.ext.asyncio import AsyncConnection


def shard_readers(
    shards: Shards, merchant_id: str | None
) -> list[AbstractAsyncContextManager[AsyncConnection]]:
    """The merchant's shard, or (None) one reader per physical shard."""
    if merchant_id is not None:
        return [shards.read(merchant_id)]
    representatives: dict[int, int] = {}
    for logical in range(shards.logical_shard_count):
        representatives.setdefault(id(shards.engine_for_logical(logical)), logical)
    return [shards.read_logical(logical) for logical in representatives.values()]


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_Identified)


def merge_newest_first(pages: list[Page[T]], cursor: Cursor) -> Page[T]:
    """Newest first over several shards' pages of `cursor` (ids sort by time): the newest
    `limit`, or for an `ending_before` page the `limit` just newer than it (the oldest);
    platform-wide blocklist items, present on every shard, once."""
    seen: dict[str, T] = {}
    for page in pages:
        for item in page.data:
            seen.setdefault(item.id, item)
    merged = sorted(seen.values(), key=lambda item: item.id, reverse=True)
    has_more = any(page.has_more for page in pages) or len(merged) > cursor.limit
    kept = merged[-cursor.limit :] if cursor.ending_before else merged[: cursor.limit]
    return Page(kept, has_more)


async def listed_newest_first(
    shards: Shards,
    merchant_id: str | None,
    cursor: Cursor,
    read: Callable[[AsyncConnection], Awaitable[Page[T]]],
) -> Page[T]:
    """`read`'s page on the merchant's shard (NOT_FOUND unless the merchant exists), or (None)
    on every physical shard, merged (`merge_newest_first`)."""
    pages = []
    for reader in shard_readers(shards, merchant_id):
        async with reader as connection:
            if merchant_id:
                await require_merchant(connection, merchant_id)
            pages.append(await read(connection))
    return merge_newest_first(pages, cursor)
