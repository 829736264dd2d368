"""A deleted test clock (DeleteTestClock, as Stripe's): the row stays for the canceled
subscriptions still on it (their clock's time), marked with when it was deleted; reads of
test clocks leave it out. Null for a clock that is not deleted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl

revision = "0029"
down_revision = "0028"


def upgrade() -> None:
    ddl.add_columns("test_clocks", *ddl.optional(sa.DateTime(timezone=True), "deleted_at"))


def downgrade() -> None:
    op.drop_column("test_clocks", "deleted_at")
