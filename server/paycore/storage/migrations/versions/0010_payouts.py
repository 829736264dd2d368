"""Pay-out (issue 13): balance_transactions (one per credit or debit of a balance, pending until
available), bank_accounts (numbers sealed by the vault), payout_schedules and payouts (one
automatic payout per account, currency and period).
"""

from __future__ import annotations

import sqlalchemy as sa
from paycore.storage.migrations import ddl
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    ddl.create_owned_table(
        "balance_transactions",
        *ddl.required(sa.Text(), "id", "account", "currency"),
        *ddl.required(sa.BigInteger(), "amount", "fee", "net"),
        *ddl.required(sa.Text(), "type", "status"),
        *ddl.required(sa.BigInteger(), "available_on"),
        *ddl.required(sa.Text(), "source", "description", "ledger_transfer_id"),
        *ddl.optional(sa.Text(), "payout_id"),
        *ddl.required(sa.BigInteger(), "created"),
    )
    ddl.create_index(
        "balance_transactions_due_idx",
        "balance_transactions",
        "available_on",
        where="status = 'pending'",
    )
    ddl.create_index(
        "balance_transactions_unswept_idx",
        "balance_transactions",
        "merchant_id",
        "account",
        "currency",
        where="status = 'available' AND payout_id IS NULL",
    )
    ddl.create_index(
        "balance_transactions_payout_idx",
        "balance_transactions",
        "merchant_id",
        "payout_id",
        where="payout_id IS NOT NULL",
    )
    ddl.create_index(
        "balance_transactions_source_idx", "balance_transactions", "merchant_id", "source"
    )

    ddl.create_owned_table(
        "bank_accounts",
        *ddl.required(sa.Text(), "id", "account", "country", "currency"),
        *ddl.required(sa.Text(), "account_holder_name", "account_holder_type", "bank_name"),
        *ddl.required(sa.Text(), "routing_number", "last4", "fingerprint"),
        *ddl.required(sa.LargeBinary(), "number_sealed"),
        *ddl.required(sa.Text(), "status"),
        *ddl.required(sa.Boolean(), "default_for_currency", "instant_supported"),
        *ddl.required(sa.BigInteger(), "created"),
        *ddl.required(postgresql.JSONB(), "metadata"),
    )
    ddl.create_index("bank_accounts_id_idx", "bank_accounts", "id", unique=True)
    ddl.create_index(
        "bank_accounts_default_idx",
        "bank_accounts",
        "merchant_id",
        "account",
        "currency",
        unique=True,
        where="default_for_currency",
    )

    ddl.create_owned_table(
        "payout_schedules",
        *ddl.required(sa.Text(), "account", "interval"),
        *ddl.required(sa.Integer(), "delay_days", "weekly_anchor", "monthly_anchor"),
        *ddl.required(postgresql.JSONB(), "minimum_amounts"),
        *ddl.optional(sa.Date(), "next_run_on"),
        *ddl.required(sa.BigInteger(), "updated"),
        key=("account",),
    )
    ddl.create_index(
        "payout_schedules_due_idx",
        "payout_schedules",
        "next_run_on",
        where="next_run_on IS NOT NULL",
    )

    ddl.create_owned_table(
        "payouts",
        *ddl.required(sa.Text(), "id", "account"),
        *ddl.required(sa.BigInteger(), "amount", "fee"),
        *ddl.required(sa.Text(), "currency", "destination", "method", "status"),
        *ddl.required(sa.Boolean(), "automatic"),
        *ddl.optional(sa.Date(), "period"),
        *ddl.required(sa.BigInteger(), "arrival_date"),
        *ddl.required(sa.Text(), "balance_transaction", "failure_balance_transaction"),
        *ddl.required(sa.Text(), "failure_code", "failure_message", "bank_reference"),
        *ddl.required(sa.Text(), "execution_id", "description"),
        *ddl.required(sa.BigInteger(), "created"),
        *ddl.optional(sa.BigInteger(), "next_check_at"),
        *ddl.required(postgresql.JSONB(), "metadata"),
    )
    ddl.create_index("payouts_id_idx", "payouts", "id", unique=True)
    ddl.create_index(
        "payouts_period_idx",
        "payouts",
        "merchant_id",
        "account",
        "currency",
        "period",
        unique=True,
        where="automatic",
    )
    ddl.create_index(
        "payouts_tracking_idx", "payouts", "next_check_at", where="next_check_at IS NOT NULL"
    )


def downgrade() -> None:
    ddl.drop_tables("payouts", "payout_schedules", "bank_accounts", "balance_transactions")
