"""What the self-hosted benches (`paycore bench ledger`, `paycore bench fraud`) run on: fresh
databases on a PostgreSQL server they may create and drop databases on, and settings with
throwaway secrets."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from paycore.config import Settings
from paycore.customer.vault import new_vault_key


def with_database(url: str, database: str) -> str:
    """`url` with its database replaced by `database`."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


async def admin_sql(url: str, statement: str) -> None:
    """Runs `statement` (CREATE / DROP DATABASE) in the server's `postgres` database."""
    connection = await asyncpg.connect(with_database(url, "postgres"))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def scratch_settings(
    database_urls: tuple[str, ...], redis_url: str, **overrides: object
) -> Settings:
    """Settings for an in-process server on `database_urls`, with fresh secrets."""
    settings = Settings(
        database_urls=database_urls,
        redis_url=redis_url,
        admin_token=secrets.token_urlsafe(32),
        key_hash_secret=secrets.token_urlsafe(32),
        vault_key=new_vault_key(),
        card_fingerprint_key=secrets.token_urlsafe(32),
    )
    return settings.with_overrides(**overrides)
