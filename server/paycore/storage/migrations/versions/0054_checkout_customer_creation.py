"""Checkout sessions: Stripe's `customer_creation` ("if_required", the default, or "always": a
guest's session makes a customer when it completes), `locale` (null: none given) and
`allow_promotion_codes` (null: none given), and `customer_details`, who paid as the session
completed (null before, and for a session completed before this migration: read live)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0054"
down_revision = "0050"


def upgrade() -> None:
    op.add_column(
        "checkout_sessions",
        sa.Column("customer_creation", sa.Text(), nullable=False, server_default="if_required"),
    )
    op.add_column("checkout_sessions", sa.Column("locale", sa.Text(), nullable=True))
    op.add_column(
        "checkout_sessions", sa.Column("allow_promotion_codes", sa.Boolean(), nullable=True)
    )
    op.add_column(
        "checkout_sessions",
        sa.Column("customer_details", postgresql.JSONB(), nullable=True),
    )


def downgrade() -> None:
    for column in ("customer_details", "allow_promotion_codes", "locale", "customer_creation"):
        op.drop_column("checkout_sessions", column)
