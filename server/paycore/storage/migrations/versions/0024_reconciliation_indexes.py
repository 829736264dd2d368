"""Reconciliation's reads of a day, indexed: the day's dispute transfers (matched against the
settlement report's dispute lines, paycore.reconciliation.matching) and the paid payouts due
that day (against the bank's payouts report, paycore.reconciliation.payout_matching). Partial
indexes on their time, so that a day's run reads those rows instead of scanning every ledger
transfer and payout of the shard.
"""

from __future__ import annotations

from alembic import op
from paycore.storage.migrations import ddl

revision = "0024"
down_revision = "0023"


def upgrade() -> None:
    ddl.create_index(
        "ledger_transfers_disputes_idx",
        "ledger_transfers",
        "created_at",
        where="code IN ('dispute', 'dispute_reversal')",
    )
    ddl.create_index(
        "payouts_paid_arrival_idx",
        "payouts",
        "arrival_date",
        where="status = 'paid' AND bank_reference <> ''",
    )


def downgrade() -> None:
    op.drop_index("payouts_paid_arrival_idx", table_name="payouts")
    op.drop_index("ledger_transfers_disputes_idx", table_name="ledger_transfers")
