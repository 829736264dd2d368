"""A deleted customer (DeleteCustomer, as Stripe's `Customer.delete`): the row stays, for the
objects that name it (payment intents, invoices, events), marked with when it was deleted;
reads of customers leave it out. Null for a customer that is not deleted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl

revision = "0028"
down_revision = "0027"


def upgrade() -> None:
    ddl.add_columns("customers", *ddl.optional(sa.DateTime(timezone=True), "deleted_at"))


def downgrade() -> None:
    op.drop_column("customers", "deleted_at")
