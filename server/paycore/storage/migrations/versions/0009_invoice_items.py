"""Subscriptions, third part: invoice_items, one-off charges or credits for a subscription's
next invoice (invoice_id null while pending).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations.columns import metadata_and_created_at, required

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "invoice_items",
        *required(sa.Text(), "merchant_id", "id", "customer_id", "subscription_id"),
        sa.Column("price_id", sa.Text(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("invoice_id", sa.Text(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        *metadata_and_created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="invoice_items_pkey"),
    )
    op.create_index(
        "invoice_items_pending_idx",
        "invoice_items",
        ["merchant_id", "subscription_id"],
        postgresql_where=sa.text("invoice_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("invoice_items")
