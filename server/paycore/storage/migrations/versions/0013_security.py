"""Security (issue 23): api_keys.expires_at, when a rolled key stops authenticating.

down_revision is 0010 (payouts), the newest migration below it on main; the lead points it at
0012 once webhooks and reconciliation land.

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("api_keys", "expires_at")
