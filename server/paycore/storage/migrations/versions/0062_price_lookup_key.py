"""`prices.lookup_key` (Stripe's): the merchant's name for a price, unique among the
merchant's prices (null: none), which ListPrices' `lookup_keys[]` filters by and a create or
update with `transfer_lookup_key` moves from the price holding it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0062"
down_revision = "0061"


def upgrade() -> None:
    op.add_column("prices", sa.Column("lookup_key", sa.Text(), nullable=True))
    op.create_index(
        "prices_lookup_key_idx",
        "prices",
        ["merchant_id", "lookup_key"],
        unique=True,
        postgresql_where=sa.text("lookup_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("prices_lookup_key_idx", table_name="prices")
    op.drop_column("prices", "lookup_key")
