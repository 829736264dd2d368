"""`paycore migrate`: bring every physical shard to the newest schema with Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from paycore.storage.shards import asyncpg_url
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any fixed number: concurrent `paycore migrate` runs on one database take turns.
MIGRATION_LOCK_ID = 0x7061_7963_6F72_6501


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    # PostgreSQL DDL is transactional: the whole upgrade commits or none of it does.
    connection.execute(text("select pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
    command.upgrade(alembic_config(connection), "head")


async def migrate_database(url: str) -> None:
    engine = create_async_engine(asyncpg_url(url), poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade)
    finally:
        await engine.dispose()


async def migrate_all(database_urls: tuple[str, ...]) -> None:
    for url in database_urls:
        await migrate_database(url)
