"""`payment_intents.receipt_email` (Stripe's): where the payment's receipt is sent; "" none. Its
charges render it as their receipt_email until UpdateCharge sets their own (`charge_details`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0049"
down_revision = "0048"


def upgrade() -> None:
    op.add_column(
        "payment_intents",
        sa.Column("receipt_email", sa.Text(), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_column("payment_intents", "receipt_email")
