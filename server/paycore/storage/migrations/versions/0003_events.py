"""Events: the outbox each state change writes in its own transaction."""

from __future__ import annotations

import sqlalchemy as sa
from paycore.storage.migrations import ddl
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    ddl.create_owned_table(
        "events",
        *ddl.required(sa.Text(), "id", "type"),
        *ddl.optional(sa.Text(), "object_id"),
        *ddl.required(sa.Text(), "object_type"),
        *ddl.required(postgresql.JSONB(), "data"),
        ddl.created_at(),
        *ddl.optional(sa.DateTime(timezone=True), "published_at"),
    )
    ddl.create_index("events_type_idx", "events", "merchant_id", "type", "id")
    ddl.create_index("events_unpublished_idx", "events", "id", where="published_at IS NULL")


def downgrade() -> None:
    ddl.drop_tables("events")
