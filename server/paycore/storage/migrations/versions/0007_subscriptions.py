"""Subscriptions, first part: products, prices and test clocks."""

from __future__ import annotations

import sqlalchemy as sa
from paycore.storage.migrations import ddl

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    ddl.create_owned_table(
        "products",
        *ddl.required(sa.Text(), "id", "name", "description"),
        *ddl.required(sa.Boolean(), "active"),
        *ddl.metadata_and_created_at(),
    )
    ddl.create_owned_table(
        "prices",
        *ddl.required(sa.Text(), "id", "product_id"),
        *ddl.required(sa.BigInteger(), "unit_amount"),
        *ddl.required(sa.Text(), "currency"),
        *ddl.optional(sa.Text(), "recurring_interval"),
        *ddl.optional(sa.Integer(), "recurring_interval_count"),
        *ddl.required(sa.Text(), "nickname"),
        *ddl.required(sa.Boolean(), "active"),
        *ddl.metadata_and_created_at(),
    )
    ddl.create_index("prices_product_idx", "prices", "merchant_id", "product_id", "id")
    ddl.create_owned_table(
        "test_clocks",
        *ddl.required(sa.Text(), "id", "name"),
        *ddl.required(sa.DateTime(timezone=True), "frozen_time"),
        *ddl.required(sa.Text(), "status"),
        *ddl.metadata_and_created_at(),
    )


def downgrade() -> None:
    ddl.drop_tables("test_clocks", "prices", "products")
