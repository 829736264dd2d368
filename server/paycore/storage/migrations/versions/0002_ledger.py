"""The ledger: accounts with their balances, transfers, immutable entries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def _balances() -> list[sa.Column[object]]:
    return [
        sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")
        for name in ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
    ]


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("debits_must_not_exceed_credits", sa.Boolean(), nullable=False),
        sa.Column("credits_must_not_exceed_debits", sa.Boolean(), nullable=False),
        *_balances(),
        sa.Column("entry_count", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="ledger_accounts_pkey"),
    )
    op.create_index("ledger_accounts_id_idx", "ledger_accounts", ["id"], unique=True)
    op.create_index(
        "ledger_accounts_code_idx",
        "ledger_accounts",
        ["merchant_id", "code", "currency"],
        unique=True,
    )
    op.create_table(
        "ledger_transfers",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("debit_account_id", sa.Text(), nullable=False),
        sa.Column("credit_account_id", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("pending_id", sa.Text(), nullable=True),
        sa.Column("timeout_seconds", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="ledger_transfers_pkey"),
    )
    op.create_index("ledger_transfers_id_idx", "ledger_transfers", ["id"], unique=True)
    op.create_index(
        "ledger_transfers_expiry_idx",
        "ledger_transfers",
        ["expires_at"],
        postgresql_where=sa.text("status = 'pending' AND expires_at IS NOT NULL"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("transfer_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("is_debit", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("posted_delta", sa.BigInteger(), nullable=False),
        sa.Column("pending_delta", sa.BigInteger(), nullable=False),
        *_balances(),
        _created_at(),
        sa.PrimaryKeyConstraint(
            "merchant_id", "account_id", "sequence", name="ledger_entries_pkey"
        ),
    )


def downgrade() -> None:
    op.drop_table("ledger_entries")
    op.drop_table("ledger_transfers")
    op.drop_table("ledger_accounts")
