"""Growing from 2 to N databases as deploy/README.md says (issue 20, item 6): add the new
database to PAYCORE_DATABASE_URLS of every process, `paycore migrate`, then `paycore shards
move`. Adding the database moves no logical shard by itself: every merchant stays readable
where its rows are, and the new database owns nothing until a shard is moved to it. The map
of the first `paycore migrate` is kept on physical shard 0, so the default `logical mod N`,
which changes with N, is never recomputed under data that already lives somewhere."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from paycore.cli import main
from paycore.config import Settings
from paycore.storage.shards import Shards
from paycore.tools.bench.scratch import admin_sql, with_database


async def placement(settings: Settings) -> list[int]:
    """Where a process started with `settings` routes each logical shard."""
    shards = Shards(settings)
    try:
        await shards.refresh_map()
        return [shards.physical_of_logical(logical) for logical in range(64)]
    finally:
        await shards.dispose(0)


async def test_adding_a_database_moves_no_logical_shard(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = settings.database_urls[0]
    names = [f"paycore_grow_{secrets.token_hex(4)}_{index}" for index in range(3)]
    urls = tuple(with_database(base, name) for name in names)
    for name in names:
        await admin_sql(base, f'CREATE DATABASE "{name}"')
    try:
        two = settings.with_overrides(database_urls=urls[:2], shard_map=())
        three = settings.with_overrides(database_urls=urls, shard_map=())
        monkeypatch.delenv("PAYCORE_SHARD_MAP", raising=False)
        monkeypatch.setenv("PAYCORE_DATABASE_URLS", ",".join(urls[:2]))
        await asyncio.to_thread(main, ["migrate"])  # the command, its own loop
        before = await placement(two)
        assert before == [logical % 2 for logical in range(64)]

        # The rolling restart: processes with the new list start before the migrate runs.
        assert await placement(three) == before
        monkeypatch.setenv("PAYCORE_DATABASE_URLS", ",".join(urls))
        await asyncio.to_thread(main, ["migrate"])  # the command, its own loop
        assert await placement(three) == before  # physical 2 owns nothing yet
    finally:
        for name in names:
            await admin_sql(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
