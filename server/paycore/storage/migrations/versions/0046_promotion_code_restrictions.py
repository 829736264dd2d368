"""A promotion code's restrictions (Stripe's): `first_time_transaction`, and a
`minimum_amount` in `minimum_amount_currency` (null: no minimum).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl

revision = "0046"
down_revision = "0045"


def upgrade() -> None:
    ddl.add_columns(
        "promotion_codes",
        *ddl.defaulted(sa.Boolean(), sa.text("false"), "first_time_transaction"),
        *ddl.optional(sa.BigInteger(), "minimum_amount"),
        *ddl.optional(sa.Text(), "minimum_amount_currency"),
    )


def downgrade() -> None:
    for column in ("minimum_amount_currency", "minimum_amount", "first_time_transaction"):
        op.drop_column("promotion_codes", column)
