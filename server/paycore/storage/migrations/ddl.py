"""Table, column and index helpers the migrations share. A migration is history: never change
what a function here produces (add a new one instead), or a database migrated before the change
and one migrated after it would differ. tests/storage/test_migrations.py compares a migrated
database with storage/schema.py."""

from __future__ import annotations

import importlib
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


def created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def required(type_: sa.types.TypeEngine[Any], *names: str) -> list[sa.Column[Any]]:
    """NOT NULL columns of one type, in this order."""
    return [sa.Column(name, type_, nullable=False) for name in names]


def optional(type_: sa.types.TypeEngine[Any], *names: str) -> list[sa.Column[Any]]:
    """Nullable columns of one type, in this order."""
    return [sa.Column(name, type_, nullable=True) for name in names]


def defaulted(type_: sa.types.TypeEngine[Any], default: Any, *names: str) -> list[sa.Column[Any]]:
    """NOT NULL columns of one type with a server default, in this order."""
    return [sa.Column(name, type_, nullable=False, server_default=default) for name in names]


def metadata_and_created_at() -> list[sa.Column[object]]:
    """What every API object's table ends with."""
    return [sa.Column("metadata", postgresql.JSONB(), nullable=False), created_at()]


def create_owned_table(
    name: str, *items: sa.schema.SchemaItem, key: tuple[str, ...] = ("id",)
) -> None:
    """A table of a merchant's rows: a NOT NULL text `merchant_id` first, and the primary key
    `merchant_id` then `key`, named <table>_pkey."""
    op.create_table(
        name,
        sa.Column("merchant_id", sa.Text(), nullable=False),
        *items,
        sa.PrimaryKeyConstraint("merchant_id", *key, name=f"{name}_pkey"),
    )


def create_index(
    name: str, table: str, *columns: str, unique: bool = False, where: str | None = None
) -> None:
    """An index on `columns`; with `where`, a partial one."""
    if where is None:
        op.create_index(name, table, list(columns), unique=unique)
    else:
        op.create_index(name, table, list(columns), unique=unique, postgresql_where=sa.text(where))


def add_columns(table: str, *columns: sa.Column[Any]) -> None:
    """Adds these columns to `table`, in this order."""
    for column in columns:
        op.add_column(table, column)


def add_column_set_for_existing_rows(
    table: str, name: str, type_: sa.types.TypeEngine[Any], existing: Any
) -> None:
    """A nullable column that the rows already in `table` get as `existing` (a server default
    evaluated once: no table rewrite) and new rows get as null."""
    op.add_column(table, sa.Column(name, type_, server_default=existing))
    op.alter_column(table, name, server_default=None)


def drop_tables(*names: str) -> None:
    """Drop these tables, in this order."""
    for name in names:
        op.drop_table(name)


def drop_table_and_indexes(table: str, *indexes: str) -> None:
    """Drop these indexes of `table`, in this order, then the table."""
    for index in indexes:
        op.drop_index(index, table_name=table)
    op.drop_table(table)


def restore_function(migration: str, constant: str) -> None:
    """Puts back a function as an earlier migration created it (in the downgrade of one that
    replaced it): `constant`, that migration's CREATE FUNCTION statement."""
    module = importlib.import_module(f"paycore.storage.migrations.versions.{migration}")
    created = str(getattr(module, constant))
    op.execute(created.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
