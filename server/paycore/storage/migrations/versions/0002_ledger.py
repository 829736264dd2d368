"""The ledger: accounts with their balances, transfers, immutable entries."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations.columns import created_at, metadata_and_created_at, required
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"


def _balances() -> list[sa.Column[object]]:
    return [
        sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")
        for name in ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
    ]


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        *required(sa.Text(), "merchant_id", "id", "code", "type", "currency"),
        *required(sa.Boolean(), "debits_must_not_exceed_credits", "credits_must_not_exceed_debits"),
        *_balances(),
        sa.Column("entry_count", sa.BigInteger(), nullable=False, server_default="0"),
        *metadata_and_created_at(),
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
        *required(sa.Text(), "merchant_id", "id", "kind", "debit_account_id", "credit_account_id"),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("pending_id", sa.Text(), nullable=True),
        sa.Column("timeout_seconds", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        created_at(),
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
        *required(sa.Text(), "merchant_id", "account_id"),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        *required(sa.Text(), "id", "transfer_id", "kind"),
        sa.Column("is_debit", sa.Boolean(), nullable=False),
        *required(sa.Text(), "currency", "code"),
        *required(sa.BigInteger(), "posted_delta", "pending_delta"),
        *_balances(),
        created_at(),
        sa.PrimaryKeyConstraint(
            "merchant_id", "account_id", "sequence", name="ledger_entries_pkey"
        ),
    )


def downgrade() -> None:
    op.drop_table("ledger_entries")
    op.drop_table("ledger_transfers")
    op.drop_table("ledger_accounts")
