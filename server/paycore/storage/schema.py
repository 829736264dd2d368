"""Table definitions for queries (SQLAlchemy Core). Migrations under migrations/ create them;
tests/storage/test_migrations.py fails when the two disagree.

Every table's primary key starts with merchant_id, the shard key, so the schema also fits a
distributed PostgreSQL (Citus) that co-locates a merchant's rows.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData()


def _created_at() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


merchants = Table(
    "merchants",
    metadata,
    Column("merchant_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("country", Text, nullable=False),
    Column("default_currency", Text, nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("metadata", JSONB, nullable=False),
    _created_at(),
    PrimaryKeyConstraint("merchant_id", name="merchants_pkey"),
)

seller_accounts = Table(
    "seller_accounts",
    metadata,
    Column("merchant_id", Text, nullable=False),
    Column("id", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("business_name", Text, nullable=False),
    Column("country", Text, nullable=False),
    Column("default_currency", Text, nullable=False),
    Column("metadata", JSONB, nullable=False),
    _created_at(),
    PrimaryKeyConstraint("merchant_id", "id", name="seller_accounts_pkey"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("merchant_id", Text, nullable=False),
    Column("id", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("redacted", Text, nullable=False),
    _created_at(),
    Column("revoked_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("merchant_id", "id", name="api_keys_pkey"),
    # Authentication finds a key by the id embedded in it, before it knows the merchant.
    Index("api_keys_id_idx", "id", unique=True),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    # The merchant, or "admin" for calls made with the admin token.
    Column("merchant_id", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("request_hash", LargeBinary, nullable=False),
    # 0 (OK) with the serialized response, or a gRPC status code with the error as JSON.
    Column("response_status", Integer, nullable=False),
    Column("response_body", LargeBinary, nullable=False),
    _created_at(),
    PrimaryKeyConstraint("merchant_id", "key", name="idempotency_keys_pkey"),
    Index("idempotency_keys_created_at_idx", "created_at"),
)

__all__ = ["api_keys", "idempotency_keys", "merchants", "metadata", "seller_accounts"]
