"""Disputes (issue 22): the disputes read from the PSP's feed, the feed's position, and
payment_intents.disputed; digital wallets: payment_methods.wallet.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        *[
            sa.Column(name, sa.Text(), nullable=False)
            for name in ("id", "payment_intent_id", "psp_dispute", "psp_charge")
        ],
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("evidence", postgresql.JSONB(), nullable=False),
        sa.Column("due_by", sa.BigInteger(), nullable=False),
        sa.Column("submitted_at", sa.BigInteger(), nullable=False),
        sa.Column("submission_count", sa.Integer(), nullable=False),
        sa.Column("psp_action", sa.Text(), nullable=False),
        sa.Column("psp_action_at", sa.BigInteger(), nullable=False),
        sa.Column("psp_sequence", sa.BigInteger(), nullable=False),
        sa.Column("balance_transactions", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="disputes_pkey"),
    )
    op.create_index("disputes_psp_idx", "disputes", ["merchant_id", "psp_dispute"], unique=True)
    op.create_index("disputes_intent_idx", "disputes", ["merchant_id", "payment_intent_id", "id"])
    op.create_index(
        "disputes_psp_action_idx",
        "disputes",
        ["psp_action_at"],
        postgresql_where=sa.text("psp_action <> ''"),
    )
    op.create_table(
        "dispute_feeds",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("lease_until", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "name", name="dispute_feeds_pkey"),
    )
    op.add_column(
        "payment_methods",
        sa.Column("wallet", sa.Text(), nullable=False, server_default=""),
    )
    op.add_column(
        "payment_intents",
        sa.Column("disputed", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )


def downgrade() -> None:
    op.drop_column("payment_intents", "disputed")
    op.drop_column("payment_methods", "wallet")
    op.drop_table("dispute_feeds")
    op.drop_table("disputes")
