"""Pay-out (issue 13): balance_transactions (one per credit or debit of a balance, pending until
available), bank_accounts (numbers sealed by the vault), payout_schedules and payouts (one
automatic payout per account, currency and period).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "balance_transactions",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("available_on", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("ledger_transfer_id", sa.Text(), nullable=False),
        sa.Column("payout_id", sa.Text(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="balance_transactions_pkey"),
    )
    op.create_index(
        "balance_transactions_due_idx",
        "balance_transactions",
        ["available_on"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "balance_transactions_unswept_idx",
        "balance_transactions",
        ["merchant_id", "account", "currency"],
        postgresql_where=sa.text("status = 'available' AND payout_id IS NULL"),
    )
    op.create_index(
        "balance_transactions_payout_idx",
        "balance_transactions",
        ["merchant_id", "payout_id"],
        postgresql_where=sa.text("payout_id IS NOT NULL"),
    )
    op.create_index(
        "balance_transactions_source_idx", "balance_transactions", ["merchant_id", "source"]
    )

    op.create_table(
        "bank_accounts",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("account_holder_name", sa.Text(), nullable=False),
        sa.Column("account_holder_type", sa.Text(), nullable=False),
        sa.Column("bank_name", sa.Text(), nullable=False),
        sa.Column("routing_number", sa.Text(), nullable=False),
        sa.Column("last4", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("number_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("default_for_currency", sa.Boolean(), nullable=False),
        sa.Column("instant_supported", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="bank_accounts_pkey"),
    )
    op.create_index("bank_accounts_id_idx", "bank_accounts", ["id"], unique=True)
    op.create_index(
        "bank_accounts_default_idx",
        "bank_accounts",
        ["merchant_id", "account", "currency"],
        unique=True,
        postgresql_where=sa.text("default_for_currency"),
    )

    op.create_table(
        "payout_schedules",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("interval", sa.Text(), nullable=False),
        sa.Column("delay_days", sa.Integer(), nullable=False),
        sa.Column("weekly_anchor", sa.Integer(), nullable=False),
        sa.Column("monthly_anchor", sa.Integer(), nullable=False),
        sa.Column("minimum_amounts", postgresql.JSONB(), nullable=False),
        sa.Column("next_run_on", sa.Date(), nullable=True),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "account", name="payout_schedules_pkey"),
    )
    op.create_index(
        "payout_schedules_due_idx",
        "payout_schedules",
        ["next_run_on"],
        postgresql_where=sa.text("next_run_on IS NOT NULL"),
    )

    op.create_table(
        "payouts",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("period", sa.Date(), nullable=True),
        sa.Column("arrival_date", sa.BigInteger(), nullable=False),
        sa.Column("balance_transaction", sa.Text(), nullable=False),
        sa.Column("failure_balance_transaction", sa.Text(), nullable=False),
        sa.Column("failure_code", sa.Text(), nullable=False),
        sa.Column("failure_message", sa.Text(), nullable=False),
        sa.Column("bank_reference", sa.Text(), nullable=False),
        sa.Column("execution_id", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("next_check_at", sa.BigInteger(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="payouts_pkey"),
    )
    op.create_index("payouts_id_idx", "payouts", ["id"], unique=True)
    op.create_index(
        "payouts_period_idx",
        "payouts",
        ["merchant_id", "account", "currency", "period"],
        unique=True,
        postgresql_where=sa.text("automatic"),
    )
    op.create_index(
        "payouts_tracking_idx",
        "payouts",
        ["next_check_at"],
        postgresql_where=sa.text("next_check_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("payouts")
    op.drop_table("payout_schedules")
    op.drop_table("bank_accounts")
    op.drop_table("balance_transactions")
