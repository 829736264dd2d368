"""ListEvents' `created[gt|gte|lt|lte]`: a merchant's events by creation time, indexed, so that a
range reads the events in it instead of every event of the merchant newer than it.
"""

from __future__ import annotations

from alembic import op
from paycore.storage.migrations import ddl

revision = "0027"
down_revision = "0026"


def upgrade() -> None:
    ddl.create_index("events_created_idx", "events", "merchant_id", "created_at")


def downgrade() -> None:
    op.drop_index("events_created_idx", table_name="events")
