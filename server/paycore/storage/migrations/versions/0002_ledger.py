"""The ledger: accounts with their balances, transfers, immutable entries."""

from __future__ import annotations

import sqlalchemy as sa
from paycore.storage.migrations import ddl
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"


BALANCES = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")


def upgrade() -> None:
    ddl.create_owned_table(
        "ledger_accounts",
        *ddl.required(sa.Text(), "id", "code", "type", "currency"),
        *ddl.required(
            sa.Boolean(), "debits_must_not_exceed_credits", "credits_must_not_exceed_debits"
        ),
        *ddl.defaulted(sa.BigInteger(), "0", *BALANCES, "entry_count"),
        *ddl.metadata_and_created_at(),
    )
    ddl.create_index("ledger_accounts_id_idx", "ledger_accounts", "id", unique=True)
    ddl.create_index(
        "ledger_accounts_code_idx",
        "ledger_accounts",
        "merchant_id",
        "code",
        "currency",
        unique=True,
    )
    ddl.create_owned_table(
        "ledger_transfers",
        *ddl.required(sa.Text(), "id", "kind", "debit_account_id", "credit_account_id"),
        *ddl.required(sa.BigInteger(), "amount"),
        *ddl.required(sa.Text(), "currency"),
        *ddl.optional(sa.Text(), "pending_id"),
        *ddl.required(sa.BigInteger(), "timeout_seconds"),
        *ddl.optional(sa.BigInteger(), "expires_at"),
        *ddl.required(sa.Text(), "code"),
        *ddl.required(postgresql.JSONB(), "metadata"),
        *ddl.required(sa.Text(), "status"),
        *ddl.optional(sa.Text(), "resolved_by"),
        ddl.created_at(),
    )
    ddl.create_index("ledger_transfers_id_idx", "ledger_transfers", "id", unique=True)
    ddl.create_index(
        "ledger_transfers_expiry_idx",
        "ledger_transfers",
        "expires_at",
        where="status = 'pending' AND expires_at IS NOT NULL",
    )
    ddl.create_owned_table(
        "ledger_entries",
        *ddl.required(sa.Text(), "account_id"),
        *ddl.required(sa.BigInteger(), "sequence"),
        *ddl.required(sa.Text(), "id", "transfer_id", "kind"),
        *ddl.required(sa.Boolean(), "is_debit"),
        *ddl.required(sa.Text(), "currency", "code"),
        *ddl.required(sa.BigInteger(), "posted_delta", "pending_delta"),
        *ddl.defaulted(sa.BigInteger(), "0", *BALANCES),
        ddl.created_at(),
        key=("account_id", "sequence"),
    )


def downgrade() -> None:
    ddl.drop_tables("ledger_entries", "ledger_transfers", "ledger_accounts")
