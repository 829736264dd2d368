"""An event's `previous_attributes` (Stripe's `data.previous_attributes` on `*.updated`
events): the changed fields' old values, as the REST edge renders them; null on other events.
"""

from __future__ import annotations

from alembic import op
from paycore.storage.migrations import ddl
from sqlalchemy.dialects.postgresql import JSONB

revision = "0047"
down_revision = "0046"


def upgrade() -> None:
    ddl.add_columns("events", *ddl.optional(JSONB(), "previous_attributes"))


def downgrade() -> None:
    op.drop_column("events", "previous_attributes")
