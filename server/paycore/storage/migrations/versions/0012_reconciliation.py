"""Reconciliation (issue 14): runs and their per-shard parts, the settlement day of each paycore
item, each day's settlement totals, discrepancies; and the two indexes matching reads
executions by (PSP reference; succeeded by time)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def _count(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "reconciliation_runs",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        _count("record_count"),
        _count("matched_count"),
        _count("discrepancy_count"),
        _count("auto_resolved_count"),
        sa.Column("attempt_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=False, server_default=""),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="reconciliation_runs_pkey"),
    )
    op.create_index(
        "reconciliation_runs_day_idx", "reconciliation_runs", ["merchant_id", "source", "day"]
    )
    op.create_index(
        "reconciliation_runs_due_idx",
        "reconciliation_runs",
        ["lease_until"],
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_table(
        "reconciliation_run_parts",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("record_count", sa.BigInteger(), nullable=False),
        sa.Column("matched_count", sa.BigInteger(), nullable=False),
        sa.Column("discrepancy_count", sa.BigInteger(), nullable=False),
        sa.Column("auto_resolved_count", sa.BigInteger(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "run_id", name="reconciliation_run_parts_pkey"),
    )
    op.create_table(
        "reconciliation_items",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint(
            "merchant_id", "source", "reference", name="reconciliation_items_pkey"
        ),
    )
    op.create_index("reconciliation_items_day_idx", "reconciliation_items", ["day"])
    op.create_table(
        "reconciliation_settlements",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("gross_amount", sa.BigInteger(), nullable=False),
        sa.Column("fee_amount", sa.BigInteger(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint(
            "merchant_id", "source", "day", "currency", name="reconciliation_settlements_pkey"
        ),
    )
    op.create_table(
        "reconciliation_discrepancies",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("line_type", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text(), nullable=False),
        sa.Column("object_ids", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("internal_amount", sa.BigInteger(), nullable=False),
        sa.Column("internal_currency", sa.Text(), nullable=False),
        sa.Column("internal_fee", sa.BigInteger(), nullable=False),
        sa.Column("internal_status", sa.Text(), nullable=False),
        sa.Column("psp_amount", sa.BigInteger(), nullable=False),
        sa.Column("psp_currency", sa.Text(), nullable=False),
        sa.Column("psp_fee", sa.BigInteger(), nullable=False),
        sa.Column("psp_status", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False, server_default=""),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("ledger_transfer_ids", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="reconciliation_discrepancies_pkey"),
    )
    op.create_index(
        "reconciliation_discrepancies_id_idx", "reconciliation_discrepancies", ["id"], unique=True
    )
    op.create_index(
        "reconciliation_discrepancies_key_idx",
        "reconciliation_discrepancies",
        ["merchant_id", "source", "day", "key"],
        unique=True,
    )
    op.create_index(
        "reconciliation_discrepancies_run_idx", "reconciliation_discrepancies", ["run_id"]
    )
    op.create_index(
        "executions_psp_reference_idx",
        "executions",
        ["psp_reference"],
        postgresql_where=sa.text("psp_reference <> ''"),
    )
    op.create_index(
        "executions_succeeded_idx",
        "executions",
        ["updated_at"],
        postgresql_where=sa.text("state = 'succeeded'"),
    )


def downgrade() -> None:
    op.drop_index("executions_succeeded_idx", table_name="executions")
    op.drop_index("executions_psp_reference_idx", table_name="executions")
    for table in (
        "reconciliation_discrepancies",
        "reconciliation_settlements",
        "reconciliation_items",
        "reconciliation_run_parts",
        "reconciliation_runs",
    ):
        op.drop_table(table)
