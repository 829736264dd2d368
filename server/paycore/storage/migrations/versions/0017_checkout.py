"""Hosted payment pages (issue 21): checkout sessions and the publishable key each merchant's
pages tokenize with; the index of one object's events (the dashboard's payment timeline).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0016"


def upgrade() -> None:
    op.create_table(
        "checkout_sessions",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("payment_intent_id", sa.Text(), nullable=False),
        sa.Column("amount_total", sa.BigInteger(), nullable=False),
        sa.Column("line_items", postgresql.JSONB(), nullable=False),
        sa.Column("customer_id", sa.Text()),
        sa.Column("customer_email", sa.Text(), nullable=False),
        sa.Column("success_url", sa.Text(), nullable=False),
        sa.Column("cancel_url", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="checkout_sessions_pkey"),
    )
    op.create_index(
        "checkout_sessions_intent_idx",
        "checkout_sessions",
        ["merchant_id", "payment_intent_id"],
    )
    op.create_index(
        "checkout_sessions_open_idx",
        "checkout_sessions",
        ["expires_at"],
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "checkout_keys",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("sealed_key", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("merchant_id", name="checkout_keys_pkey"),
    )

    op.create_index("events_object_idx", "events", ["merchant_id", "object_id", "id"])


def downgrade() -> None:
    op.drop_index("events_object_idx", table_name="events")
    op.drop_table("checkout_keys")
    op.drop_index("checkout_sessions_open_idx", table_name="checkout_sessions")
    op.drop_index("checkout_sessions_intent_idx", table_name="checkout_sessions")
    op.drop_table("checkout_sessions")
