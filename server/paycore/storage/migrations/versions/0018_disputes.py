"""Disputes (issue 22): the disputes read from the PSP's feed, the feed's position, and
payment_intents.disputed; digital wallets: payment_methods.wallet.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"


def upgrade() -> None:
    ddl.create_owned_table(
        "disputes",
        *ddl.required(sa.Text(), "id", "payment_intent_id", "psp_dispute", "psp_charge"),
        *ddl.required(sa.BigInteger(), "amount", "fee"),
        *ddl.required(sa.Text(), "currency", "reason", "status"),
        *ddl.required(postgresql.JSONB(), "evidence"),
        *ddl.required(sa.BigInteger(), "due_by", "submitted_at"),
        *ddl.required(sa.Integer(), "submission_count"),
        *ddl.required(sa.Text(), "psp_action"),
        *ddl.required(sa.BigInteger(), "psp_action_at", "psp_sequence"),
        *ddl.required(postgresql.ARRAY(sa.Text()), "balance_transactions"),
        *ddl.required(sa.BigInteger(), "created"),
        *ddl.required(postgresql.JSONB(), "metadata"),
    )
    ddl.create_index("disputes_psp_idx", "disputes", "merchant_id", "psp_dispute", unique=True)
    ddl.create_index("disputes_intent_idx", "disputes", "merchant_id", "payment_intent_id", "id")
    ddl.create_index(
        "disputes_psp_action_idx", "disputes", "psp_action_at", where="psp_action <> ''"
    )
    ddl.create_owned_table(
        "dispute_feeds",
        *ddl.required(sa.Text(), "name"),
        *ddl.required(sa.BigInteger(), "position", "lease_until"),
        key=("name",),
    )
    ddl.add_columns("payment_methods", *ddl.defaulted(sa.Text(), "", "wallet"))
    ddl.add_columns("payment_intents", *ddl.defaulted(sa.Boolean(), sa.text("false"), "disputed"))


def downgrade() -> None:
    op.drop_column("payment_intents", "disputed")
    op.drop_column("payment_methods", "wallet")
    ddl.drop_tables("dispute_feeds", "disputes")
