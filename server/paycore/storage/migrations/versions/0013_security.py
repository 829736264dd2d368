"""Security (issue 23): api_keys.expires_at, when a rolled key stops authenticating.

down_revision is 0012 (reconciliation, which revises 0009 until payouts and webhooks land);
the lead keeps the chain 0009 -> 0010 -> 0011 -> 0012 -> 0013 as they are merged.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("api_keys", "expires_at")
