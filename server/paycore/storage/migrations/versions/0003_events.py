"""Events: the outbox each state change writes in its own transaction."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations.columns import created_at, required
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "events",
        *required(sa.Text(), "merchant_id", "id", "type"),
        sa.Column("object_id", sa.Text(), nullable=True),
        sa.Column("object_type", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        created_at(),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="events_pkey"),
    )
    op.create_index("events_type_idx", "events", ["merchant_id", "type", "id"])
    op.create_index(
        "events_unpublished_idx",
        "events",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("events")
