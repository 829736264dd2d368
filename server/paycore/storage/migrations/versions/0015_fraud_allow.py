"""Fraud (issue 18): a merchant's allow list, kept with its policy."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0013"


def upgrade() -> None:
    ddl.add_columns(
        "fraud_policies", *ddl.defaulted(postgresql.JSONB(), sa.text("'[]'::jsonb"), "allow")
    )


def downgrade() -> None:
    op.drop_column("fraud_policies", "allow")
