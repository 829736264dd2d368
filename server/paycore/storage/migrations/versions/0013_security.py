"""Security (issue 23): api_keys.expires_at, when a rolled key stops authenticating."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    ddl.add_columns("api_keys", *ddl.optional(sa.DateTime(timezone=True), "expires_at"))


def downgrade() -> None:
    op.drop_column("api_keys", "expires_at")
