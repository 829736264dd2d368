"""A webhook endpoint's `api_version` (Stripe's, as given on create); null when none was."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl

revision = "0048"
down_revision = "0047"


def upgrade() -> None:
    ddl.add_columns("webhook_endpoints", *ddl.optional(sa.Text(), "api_version"))


def downgrade() -> None:
    op.drop_column("webhook_endpoints", "api_version")
