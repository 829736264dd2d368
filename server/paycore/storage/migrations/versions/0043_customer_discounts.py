"""A customer's discount (Stripe's customer-level coupon): its id, coupon, start and end,
promotion code, as a subscription's (migration 0037); null columns for none. The invoices of
the customer's subscriptions without a discount of their own take it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl

revision = "0043"
down_revision = "0042"


def upgrade() -> None:
    ddl.add_columns(
        "customers",
        *ddl.optional(sa.Text(), "discount_id", "discount_coupon_id"),
        *ddl.optional(sa.BigInteger(), "discount_start", "discount_end"),
        *ddl.optional(sa.Text(), "discount_promotion_code_id"),
    )


def downgrade() -> None:
    for column in (
        "discount_promotion_code_id",
        "discount_end",
        "discount_start",
        "discount_coupon_id",
        "discount_id",
    ):
        op.drop_column("customers", column)
