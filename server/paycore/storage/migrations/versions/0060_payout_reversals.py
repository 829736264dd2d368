"""`payouts.original_payout` and `payouts.reversed_by` (Stripe's): ReversePayout's reversing
payout names the payout it reverses, which names its reversal; "" none."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0060"
down_revision = "0058"


def upgrade() -> None:
    for name in ("original_payout", "reversed_by"):
        op.add_column("payouts", sa.Column(name, sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    for name in ("reversed_by", "original_payout"):
        op.drop_column("payouts", name)
