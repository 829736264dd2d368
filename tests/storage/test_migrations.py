"""`paycore migrate` brings every physical shard to the schema the code queries."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from paycore.config import Settings
from paycore.storage.migrate import MIGRATIONS_DIR, alembic_config, migrate_all
from paycore.storage.schema import metadata
from paycore.storage.shards import asyncpg_url
from paycore.tools.bench.scratch import admin_sql, with_database
from sqlalchemy import Connection, inspect, text
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


def _upgrade_to(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


_CARD = (
    "INSERT INTO payment_methods (merchant_id, id, type, brand, last4, exp_month, exp_year,"
    " fingerprint, country, funding, number_sealed, billing_details, metadata, created_at,"
    " payout_account) VALUES ('acct_m', :id, 'card', 'visa', '5556', 12, 2034, :id, 'US',"
    " 'debit', '\\x00', '{}', '{}', :created, :payee)"
)


def _payout_cards_before_currencies(connection: Connection) -> None:
    """Rows as 0033 left them: a merchant in usd settling in eur, a seller in gbp without
    settlement currencies, and payout cards of both (two of the merchant's)."""
    connection.execute(
        text(
            "INSERT INTO merchants (merchant_id, name, email, country, default_currency,"
            " livemode, metadata) VALUES ('acct_m', 'M', 'm@x.test', 'US', 'usd', false, '{}')"
        )
    )
    connection.execute(
        text(
            "INSERT INTO seller_accounts (merchant_id, id, email, business_name, country,"
            " default_currency, metadata) VALUES"
            " ('acct_m', 'acct_s', 's@x.test', 'S', 'GB', 'gbp', '{}')"
        )
    )
    connection.execute(
        text(
            "INSERT INTO settlement_currencies (merchant_id, account, currencies)"
            " VALUES ('acct_m', '', ARRAY['eur', 'usd'])"
        )
    )
    for card_id, created, payee in (
        ("pm_old", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), ""),
        ("pm_new", dt.datetime(2026, 2, 1, tzinfo=dt.UTC), ""),
        ("pm_seller", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "acct_s"),
        ("pm_customers", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), None),
    ):
        connection.execute(text(_CARD), {"id": card_id, "created": created, "payee": payee})


async def test_payout_cards_get_their_payees_default_currency_by_the_migration(
    settings: Settings,
) -> None:
    """0034 gives every payout card registered before it a currency: its payee's default (the
    first settlement currency, else default_currency), the oldest of each currency its default;
    a card that is no payout card stays without one."""
    server = settings.database_urls[0]
    database = f"paycore_migration_{secrets.token_hex(4)}"
    await admin_sql(server, f'create database "{database}"')
    engine = create_async_engine(asyncpg_url(with_database(server, database)), poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_to, "0033")
            await connection.run_sync(_payout_cards_before_currencies)
            await connection.run_sync(_upgrade_to, "head")
            rows = await connection.execute(
                text("SELECT id, payout_currency, payout_default FROM payment_methods ORDER BY id")
            )
            assert [tuple(row) for row in rows] == [
                ("pm_customers", None, False),
                ("pm_new", "eur", False),
                ("pm_old", "eur", True),
                ("pm_seller", "gbp", True),
            ]
    finally:
        await engine.dispose()
        await admin_sql(server, f'drop database if exists "{database}" with (force)')
