"""A customer's test clock (CreateCustomer's test_clock, as Stripe's): its subscriptions are
billed on that clock; null for none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl

revision = "0026"
down_revision = "0025"


def upgrade() -> None:
    ddl.add_columns("customers", *ddl.optional(sa.Text(), "test_clock_id"))


def downgrade() -> None:
    op.drop_column("customers", "test_clock_id")
