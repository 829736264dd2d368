"""Fraud (issue 18): a merchant's allow list, kept with its policy."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0013"


def upgrade() -> None:
    op.add_column(
        "fraud_policies",
        sa.Column(
            "allow",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'[]'::jsonb"),
        ),
    )


def downgrade() -> None:
    op.drop_column("fraud_policies", "allow")
