"""Refunds of destination charges that reverse the seller's transfer or refund the application
fee (CreateRefund's reverse_transfer, refund_application_fee): what each took back from the
seller and gave back to it, null when the refund did not ask for it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl

revision = "0025"
down_revision = "0024"


def upgrade() -> None:
    ddl.add_columns(
        "refunds",
        *ddl.optional(sa.BigInteger(), "transfer_reversal_amount", "application_fee_refund_amount"),
    )


def downgrade() -> None:
    op.drop_column("refunds", "application_fee_refund_amount")
    op.drop_column("refunds", "transfer_reversal_amount")
