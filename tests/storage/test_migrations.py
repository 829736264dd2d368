"""`paycore migrate` brings every physical shard to the schema the code queries."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from paycore.config import Settings
from paycore.storage.migrate import MIGRATIONS_DIR, migrate_all
from paycore.storage.schema import metadata
from paycore.storage.shards import asyncpg_url
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool


def _state(connection: Connection) -> tuple[str | None, set[str], list[Any]]:
    context = MigrationContext.configure(connection)
    return (
        context.get_current_revision(),
        set(inspect(connection).get_table_names()),
        compare_metadata(context, metadata),
    )


async def test_every_shard_is_at_head_and_matches_the_schema(migrated: Settings) -> None:
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert len(migrated.database_urls) >= 2
    for url in migrated.database_urls:
        engine = create_async_engine(asyncpg_url(url), poolclass=NullPool)
        async with engine.connect() as connection:
            revision, tables, differences = await connection.run_sync(_state)
        await engine.dispose()
        assert revision == head
        assert set(metadata.tables) <= tables
        assert differences == []


async def test_migrating_again_changes_nothing(migrated: Settings) -> None:
    await migrate_all(migrated.database_urls)
    await test_every_shard_is_at_head_and_matches_the_schema(migrated)
