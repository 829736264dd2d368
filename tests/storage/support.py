"""What the storage tests share: scratch databases of their own."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from paycore.config import Settings
from paycore.storage.migrate import migrate_all
from paycore.tools.bench.scratch import admin_sql, with_database


@asynccontextmanager
async def scratch_shards(settings: Settings) -> AsyncIterator[tuple[str, ...]]:
    """Two fresh databases: a shard move rewrites the shard map, which no other test should
    see."""
    base = settings.database_urls
    names = [f"paycore_move_{secrets.token_hex(4)}_{index}" for index in range(2)]
    urls = tuple(with_database(base[index % len(base)], name) for index, name in enumerate(names))
    for url, name in zip(urls, names, strict=True):
        await admin_sql(url, f'CREATE DATABASE "{name}"')
    try:
        await migrate_all(urls)
        yield urls
    finally:
        for url, name in zip(urls, names, strict=True):
            await admin_sql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
