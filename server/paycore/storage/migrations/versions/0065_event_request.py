"""An event's `request` (Stripe's): the id and idempotency key of the API call that caused it;
null for an event a background job made, and for the events recorded before this."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl

revision = "0065"
down_revision = "0064"


def upgrade() -> None:
    ddl.add_columns("events", *ddl.optional(sa.Text(), "request_id", "idempotency_key"))


def downgrade() -> None:
    op.drop_column("events", "idempotency_key")
    op.drop_column("events", "request_id")
