"""Disputes of checkout payment orders: a dispute names the disputed charge's owner (its
payment order, and the balance the charge credited: a seller's), and a payment order shows
that its charge is disputed (payment_orders.disputed, as payment_intents' since 0018).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl

revision = "0023"
down_revision = "0022"


def upgrade() -> None:
    ddl.add_columns("disputes", *ddl.defaulted(sa.Text(), "", "payment_order_id", "account"))
    ddl.create_index("disputes_order_idx", "disputes", "merchant_id", "payment_order_id", "id")
    ddl.add_columns("payment_orders", *ddl.defaulted(sa.Boolean(), sa.text("false"), "disputed"))


def downgrade() -> None:
    op.drop_column("payment_orders", "disputed")
    op.drop_index("disputes_order_idx", table_name="disputes")
    op.drop_column("disputes", "account")
    op.drop_column("disputes", "payment_order_id")
