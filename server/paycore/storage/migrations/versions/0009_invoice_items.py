"""Subscriptions, third part: invoice_items, one-off charges or credits for a subscription's
next invoice (invoice_id null while pending).
"""

from __future__ import annotations

import sqlalchemy as sa
from paycore.storage.migrations import ddl

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    ddl.create_owned_table(
        "invoice_items",
        *ddl.required(sa.Text(), "id", "customer_id", "subscription_id"),
        *ddl.optional(sa.Text(), "price_id"),
        *ddl.required(sa.BigInteger(), "amount"),
        *ddl.required(sa.Text(), "currency"),
        *ddl.required(sa.BigInteger(), "quantity"),
        *ddl.required(sa.Text(), "description"),
        *ddl.optional(sa.Text(), "invoice_id"),
        *ddl.required(sa.BigInteger(), "created"),
        *ddl.metadata_and_created_at(),
    )
    ddl.create_index(
        "invoice_items_pending_idx",
        "invoice_items",
        "merchant_id",
        "subscription_id",
        where="invoice_id IS NULL",
    )


def downgrade() -> None:
    ddl.drop_tables("invoice_items")
