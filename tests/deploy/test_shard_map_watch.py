"""The shard map every process rereads (issue 20): while physical shard 0, which keeps it, cannot
be read, a process routes by the map it has and says so once, with the reason; not a traceback
every PAYCORE_SHARD_MAP_REFRESH_MS (two a second) for as long as the outage lasts."""

from __future__ import annotations

import logging
import secrets

import pytest
from paycore.config import Settings
from paycore.storage.migrate import migrate_all
from paycore.storage.shards import Shards
from paycore.tools.bench.scratch import admin_sql, with_database

WATCHER = "paycore.storage.shards"


async def test_an_unreadable_shard_map_is_one_warning_then_one_line_when_it_reads_again(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"paycore_map_{secrets.token_hex(4)}"
    url = with_database(settings.database_urls[0], name)  # not created yet: shard 0 is "down"
    # The background rereads wait an hour: only the test's own rereads run.
    shards = Shards(
        settings.with_overrides(database_urls=(url,), shard_map=(), shard_map_refresh_ms=3_600_000)
    )
    caplog.set_level(logging.INFO, logger=WATCHER)
    try:
        for _ in range(3):
            await shards.watch_map()
        said = [record for record in caplog.records if record.name == WATCHER]
        assert [record.levelno for record in said] == [logging.WARNING], said
        assert said[0].exc_info is None
        assert f'database "{name}" does not exist' in said[0].getMessage()

        await admin_sql(settings.database_urls[0], f'CREATE DATABASE "{name}"')
        await migrate_all((url,))
        caplog.clear()
        for _ in range(2):
            await shards.watch_map()
        said = [record for record in caplog.records if record.name == WATCHER]
        assert [(record.levelno, record.getMessage()) for record in said] == [
            (logging.INFO, "the shard map reads again")
        ]
    finally:
        await shards.dispose(0)
        await admin_sql(settings.database_urls[0], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
