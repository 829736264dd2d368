"""Merchants, seller accounts, API keys and idempotency keys."""

from __future__ import annotations

import sqlalchemy as sa
from paycore.storage.migrations import ddl
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None


def upgrade() -> None:
    ddl.create_owned_table(
        "merchants",
        *ddl.required(sa.Text(), "name", "email", "country", "default_currency"),
        *ddl.required(sa.Boolean(), "livemode"),
        *ddl.metadata_and_created_at(),
        key=(),
    )
    ddl.create_owned_table(
        "seller_accounts",
        *ddl.required(sa.Text(), "id", "email", "business_name", "country", "default_currency"),
        *ddl.metadata_and_created_at(),
    )
    ddl.create_owned_table(
        "api_keys",
        *ddl.required(sa.Text(), "id", "type", "name"),
        *ddl.required(postgresql.ARRAY(sa.Text()), "scopes"),
        *ddl.required(sa.LargeBinary(), "secret_hash"),
        *ddl.required(sa.Text(), "redacted"),
        ddl.created_at(),
        *ddl.optional(sa.DateTime(timezone=True), "revoked_at"),
    )
    ddl.create_index("api_keys_id_idx", "api_keys", "id", unique=True)
    ddl.create_owned_table(
        "idempotency_keys",
        *ddl.required(sa.Text(), "key"),
        *ddl.required(sa.LargeBinary(), "request_hash"),
        *ddl.required(sa.Integer(), "response_status"),
        *ddl.required(sa.LargeBinary(), "response_body"),
        ddl.created_at(),
        key=("key",),
    )
    ddl.create_index("idempotency_keys_created_at_idx", "idempotency_keys", "created_at")


def downgrade() -> None:
    ddl.drop_tables("idempotency_keys", "api_keys", "seller_accounts", "merchants")
