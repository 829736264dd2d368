"""One-off invoices (Stripe's Invoice.create for a customer, no subscription) and an invoice's
status_transitions.

- `invoices.subscription_id`, `invoice_lines.subscription_id` and
  `invoice_items.subscription_id` may be null: an invoice of no subscription, its lines, and a
  customer's invoice item that no subscription bills (a one-off invoice takes it).
- `invoices.description` (the memo, "" for none) and `invoices.auto_advance`.
- `invoices.finalized_at`, `voided_at`, `marked_uncollectible_at`: unix seconds of those moves
  (null until they happen); invoices finalized before this migration take their `created`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0061"
down_revision = "0060"

NULLABLE = ("invoices", "invoice_lines", "invoice_items")
MOMENTS = ("finalized_at", "voided_at", "marked_uncollectible_at")


def upgrade() -> None:
    for table in NULLABLE:
        op.alter_column(table, "subscription_id", existing_type=sa.Text(), nullable=True)
    op.add_column(
        "invoices",
        sa.Column("description", sa.Text(), nullable=False, server_default=sa.text("''")),
    )
    op.add_column(
        "invoices",
        sa.Column("auto_advance", sa.Boolean(), nullable=False, server_default=sa.text("true")),
    )
    for moment in MOMENTS:
        op.add_column("invoices", sa.Column(moment, sa.BigInteger(), nullable=True))
    op.execute("UPDATE invoices SET finalized_at = created WHERE status <> 'draft'")
    op.execute("UPDATE invoices SET voided_at = created WHERE status = 'void'")
    op.execute(
        "UPDATE invoices SET marked_uncollectible_at = created WHERE status = 'uncollectible'"
    )


def downgrade() -> None:
    for moment in reversed(MOMENTS):
        op.drop_column("invoices", moment)
    op.drop_column("invoices", "auto_advance")
    op.drop_column("invoices", "description")
    for table in NULLABLE:
        op.execute(f"DELETE FROM {table} WHERE subscription_id IS NULL")
        op.alter_column(table, "subscription_id", existing_type=sa.Text(), nullable=False)
