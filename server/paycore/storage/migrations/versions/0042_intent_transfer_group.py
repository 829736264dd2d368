"""`payment_intents.transfer_group` (Stripe's): a label grouping the charge with the transfers
that pay it out (docs/connect.md); "" none. ListCharges filters by it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"


def upgrade() -> None:
    op.add_column(
        "payment_intents",
        sa.Column("transfer_group", sa.Text(), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_column("payment_intents", "transfer_group")
