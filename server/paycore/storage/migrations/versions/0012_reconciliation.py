"""Reconciliation (issue 14): runs and their per-shard parts, the settlement day of each paycore
item, each day's settlement totals, discrepancies; and the two indexes matching reads
executions by (PSP reference; succeeded by time)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl

revision = "0012"
down_revision = "0011"


COUNTS = ("record_count", "matched_count", "discrepancy_count", "auto_resolved_count")


def upgrade() -> None:
    ddl.create_owned_table(
        "reconciliation_runs",
        *ddl.required(sa.Text(), "id", "source"),
        *ddl.required(sa.Date(), "day"),
        *ddl.required(sa.Text(), "status"),
        *ddl.defaulted(sa.BigInteger(), "0", *COUNTS),
        *ddl.defaulted(sa.Integer(), "0", "attempt_count"),
        *ddl.optional(sa.DateTime(timezone=True), "lease_until"),
        *ddl.defaulted(sa.Text(), "", "failure_message"),
        *ddl.optional(sa.DateTime(timezone=True), "finished_at"),
        ddl.created_at(),
    )
    ddl.create_index(
        "reconciliation_runs_day_idx", "reconciliation_runs", "merchant_id", "source", "day"
    )
    ddl.create_index(
        "reconciliation_runs_due_idx",
        "reconciliation_runs",
        "lease_until",
        where="status = 'running'",
    )
    ddl.create_owned_table(
        "reconciliation_run_parts",
        *ddl.required(sa.Text(), "run_id"),
        *ddl.required(sa.BigInteger(), *COUNTS),
        ddl.created_at(),
        key=("run_id",),
    )
    ddl.create_owned_table(
        "reconciliation_items",
        *ddl.required(sa.Text(), "source", "reference", "object_id"),
        *ddl.required(sa.Date(), "day"),
        key=("source", "reference"),
    )
    ddl.create_index("reconciliation_items_day_idx", "reconciliation_items", "day")
    ddl.create_owned_table(
        "reconciliation_settlements",
        *ddl.required(sa.Text(), "source"),
        *ddl.required(sa.Date(), "day"),
        *ddl.required(sa.Text(), "currency"),
        *ddl.required(sa.BigInteger(), "gross_amount", "fee_amount"),
        ddl.created_at(),
        key=("source", "day", "currency"),
    )
    ddl.create_owned_table(
        "reconciliation_discrepancies",
        *ddl.required(sa.Text(), "id", "source"),
        *ddl.required(sa.Date(), "day"),
        *ddl.required(sa.Text(), "key", "kind", "status", "run_id", "line_type", "object_id"),
        *ddl.required(sa.ARRAY(sa.Text()), "object_ids"),
        *ddl.required(sa.Text(), "reference"),
        *_amounts("internal"),
        *_amounts("psp"),
        *ddl.defaulted(sa.Text(), "", "action", "note"),
        *ddl.required(sa.ARRAY(sa.Text()), "ledger_transfer_ids"),
        *ddl.optional(sa.DateTime(timezone=True), "resolved_at"),
        ddl.created_at(),
    )
    ddl.create_index(
        "reconciliation_discrepancies_id_idx", "reconciliation_discrepancies", "id", unique=True
    )
    ddl.create_index(
        "reconciliation_discrepancies_key_idx",
        "reconciliation_discrepancies",
        "merchant_id",
        "source",
        "day",
        "key",
        unique=True,
    )
    ddl.create_index(
        "reconciliation_discrepancies_run_idx", "reconciliation_discrepancies", "run_id"
    )
    ddl.create_index(
        "executions_psp_reference_idx",
        "executions",
        "psp_reference",
        where="psp_reference <> ''",
    )
    ddl.create_index(
        "executions_succeeded_idx", "executions", "updated_at", where="state = 'succeeded'"
    )


def _amounts(side: str) -> list[sa.Column[object]]:
    """One side of a discrepancy: its amount, currency, fee and status."""
    return [
        *ddl.required(sa.BigInteger(), f"{side}_amount"),
        *ddl.required(sa.Text(), f"{side}_currency"),
        *ddl.required(sa.BigInteger(), f"{side}_fee"),
        *ddl.required(sa.Text(), f"{side}_status"),
    ]


def downgrade() -> None:
    op.drop_index("executions_succeeded_idx", table_name="executions")
    op.drop_index("executions_psp_reference_idx", table_name="executions")
    ddl.drop_tables(
        "reconciliation_discrepancies",
        "reconciliation_settlements",
        "reconciliation_items",
        "reconciliation_run_parts",
        "reconciliation_runs",
    )
