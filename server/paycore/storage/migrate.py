"""`paycore migrate`: bring every physical shard to the newest schema with Alembic, and keep
the shard map the deployment started with."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from paycore.config import Settings
from paycore.errors import ConfigurationError
from paycore.storage.failures import database_conflict, failure_reason
from paycore.storage.schema import shard_map
from paycore.storage.shards import asyncpg_url, configured_map
from sqlalchemy import Connection, make_url, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
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


async def migrate_database(url: str, shard: int = 0) -> None:
    engine = create_async_engine(asyncpg_url(url), poolclass=NullPool)
    try:
        connection = await connected(engine.connect(), url, shard)
        try:
            async with connection.begin():
                await connection.run_sync(_upgrade)
        except DBAPIError as error:
            # Migrations run while the release before serves (deploy/README.md): DDL can
            # deadlock with a running transaction, and the whole upgrade is rolled back.
            if not database_conflict(error):
                raise
            shown = make_url(url).render_as_string(hide_password=True)
            raise ConfigurationError(
                f"shard {shard} ({shown}): the migration gave way to a running transaction"
                f" ({failure_reason(error)}); nothing changed there: run `paycore migrate` again"
            ) from None
        finally:
            await connection.close()
    finally:
        await engine.dispose()


async def connected(connecting: AsyncConnection, url: str, shard: int) -> AsyncConnection:
    """The connection, or a ConfigurationError naming the shard it cannot reach and why (a
    database that does not exist, a refused port, a wrong password): one line for the
    operator, not a chain of driver tracebacks. The URL is shown without its password."""
    try:
        return await connecting.start()
    except (OSError, DBAPIError) as error:
        shown = make_url(url).render_as_string(hide_password=True)
        reason = failure_reason(error)
        raise ConfigurationError(f"shard {shard} ({shown}): cannot connect: {reason}") from None


async def migrate_all(database_urls: tuple[str, ...]) -> None:
    for shard, url in enumerate(database_urls):
        await migrate_database(url, shard)


async def migrate_deployment(settings: Settings) -> None:
    """`paycore migrate` (and `paycore dev`): every shard migrated, then the map of each logical
    shard the catalog (`shard_map` on physical shard 0) does not name yet recorded there as the
    settings place it. The first run records the whole map; a database added later to
    PAYCORE_DATABASE_URLS then owns nothing (the default `logical mod N` would have sent a
    third of the logical shards to it, away from their rows) until `paycore shards move`
    moves a logical shard to it."""
    await migrate_all(settings.database_urls)
    engine = create_async_engine(asyncpg_url(settings.database_urls[0]), poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            rows = [
                {"logical_shard": logical, "physical_shard": physical}
                for logical, physical in enumerate(configured_map(settings))
            ]
            await connection.execute(
                insert(shard_map)
                .values(rows)
                .on_conflict_do_nothing(index_elements=[shard_map.c.logical_shard])
            )
    finally:
        await engine.dispose()
