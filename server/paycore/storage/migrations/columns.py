"""Column helpers the migrations share. A migration is history: never change what a function
here returns (add a new one instead), or a database migrated before the change and one
migrated after it would differ. tests/storage/test_migrations.py compares a migrated database
with storage/schema.py."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


def created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def required(type_: sa.types.TypeEngine[Any], *names: str) -> list[sa.Column[Any]]:
    """NOT NULL columns of one type, in this order."""
    return [sa.Column(name, type_, nullable=False) for name in names]


def metadata_and_created_at() -> list[sa.Column[object]]:
    """What every API object's table ends with."""
    return [sa.Column("metadata", postgresql.JSONB(), nullable=False), created_at()]
