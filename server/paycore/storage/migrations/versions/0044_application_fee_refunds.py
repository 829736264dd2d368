"""`application_fee_refunds` (fr_, docs/connect.md): some of a destination charge's
application fee given back to its seller (CreateApplicationFeeRefund).
"""

from __future__ import annotations

import sqlalchemy as sa
from paycore.storage.migrations import ddl
from sqlalchemy.dialects import postgresql

revision = "0044"
down_revision = "0043"


def upgrade() -> None:
    ddl.create_owned_table(
        "application_fee_refunds",
        *ddl.required(sa.Text(), "id", "payment_intent_id"),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        *ddl.required(sa.Text(), "currency", "balance_transaction"),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
    )
    ddl.create_index(
        "application_fee_refunds_charge_idx",
        "application_fee_refunds",
        "merchant_id",
        "payment_intent_id",
        "id",
    )


def downgrade() -> None:
    ddl.drop_table_and_indexes("application_fee_refunds", "application_fee_refunds_charge_idx")
