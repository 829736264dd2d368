"""Radar value lists (Stripe's `radar.value_list`): a merchant's named lists of one item type,
`fraud_value_lists`; their items are blocklist items (`fraud_blocklist_items.value_list`: the
list's id, "" for the blocklist itself, the merchant's default block lists), so one store holds
both and a value (type, value) is unique per list."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl

revision = "0057"
down_revision = "0054"


def upgrade() -> None:
    ddl.create_owned_table(
        "fraud_value_lists",
        *ddl.required(sa.Text(), "id", "alias", "name", "item_type"),
        *ddl.metadata_and_created_at(),
    )
    ddl.create_index(
        "fraud_value_lists_alias_idx", "fraud_value_lists", "merchant_id", "alias", unique=True
    )
    ddl.add_columns("fraud_blocklist_items", *ddl.defaulted(sa.Text(), sa.text("''"), "value_list"))
    op.drop_index("fraud_blocklist_items_value_idx", table_name="fraud_blocklist_items")
    ddl.create_index(
        "fraud_blocklist_items_value_idx",
        "fraud_blocklist_items",
        "merchant_id",
        "type",
        "value",
        "value_list",
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("fraud_blocklist_items_value_idx", table_name="fraud_blocklist_items")
    op.execute("DELETE FROM fraud_blocklist_items WHERE value_list <> ''")
    op.drop_column("fraud_blocklist_items", "value_list")
    ddl.create_index(
        "fraud_blocklist_items_value_idx",
        "fraud_blocklist_items",
        "merchant_id",
        "type",
        "value",
        unique=True,
    )
    ddl.drop_table_and_indexes("fraud_value_lists", "fraud_value_lists_alias_idx")
