"""Subscriptions, first part: products, prices and test clocks."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations.columns import metadata_and_created_at, required

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "products",
        *required(sa.Text(), "merchant_id", "id", "name", "description"),
        sa.Column("active", sa.Boolean(), nullable=False),
        *metadata_and_created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="products_pkey"),
    )
    op.create_table(
        "prices",
        *required(sa.Text(), "merchant_id", "id", "product_id"),
        sa.Column("unit_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("recurring_interval", sa.Text(), nullable=True),
        sa.Column("recurring_interval_count", sa.Integer(), nullable=True),
        sa.Column("nickname", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        *metadata_and_created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="prices_pkey"),
    )
    op.create_index("prices_product_idx", "prices", ["merchant_id", "product_id", "id"])
    op.create_table(
        "test_clocks",
        *required(sa.Text(), "merchant_id", "id", "name"),
        sa.Column("frozen_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        *metadata_and_created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="test_clocks_pkey"),
    )


def downgrade() -> None:
    op.drop_table("test_clocks")
    op.drop_table("prices")
    op.drop_table("products")
