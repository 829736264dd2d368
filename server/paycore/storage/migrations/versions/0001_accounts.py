"""Merchants, seller accounts, API keys and idempotency keys."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations.columns import created_at, metadata_and_created_at, required
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "merchants",
        *required(sa.Text(), "merchant_id", "name", "email", "country", "default_currency"),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        *metadata_and_created_at(),
        sa.PrimaryKeyConstraint("merchant_id", name="merchants_pkey"),
    )
    op.create_table(
        "seller_accounts",
        *required(
            sa.Text(), "merchant_id", "id", "email", "business_name", "country", "default_currency"
        ),
        *metadata_and_created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="seller_accounts_pkey"),
    )
    op.create_table(
        "api_keys",
        *required(sa.Text(), "merchant_id", "id", "type", "name"),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
        sa.Column("redacted", sa.Text(), nullable=False),
        created_at(),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="api_keys_pkey"),
    )
    op.create_index("api_keys_id_idx", "api_keys", ["id"], unique=True)
    op.create_table(
        "idempotency_keys",
        *required(sa.Text(), "merchant_id", "key"),
        sa.Column("request_hash", sa.LargeBinary(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.LargeBinary(), nullable=False),
        created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "key", name="idempotency_keys_pkey"),
    )
    op.create_index("idempotency_keys_created_at_idx", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("api_keys")
    op.drop_table("seller_accounts")
    op.drop_table("merchants")
