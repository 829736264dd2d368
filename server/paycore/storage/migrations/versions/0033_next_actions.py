"""3-D Secure: a payment intent's and a setup intent's `next_action` (JSONB: the PSP's
authentication id, the page's url and the return_url), kept while the buyer authenticates and
named by the confirmation that goes on with it (paycore.payment.models.NextAction).
"""

from __future__ import annotations

from alembic import op
from paycore.storage.migrations import ddl
from sqlalchemy.dialects import postgresql

revision = "0033"
down_revision = "0032"


def upgrade() -> None:
    ddl.add_columns("payment_intents", *ddl.optional(postgresql.JSONB(), "next_action"))
    ddl.add_columns("setup_intents", *ddl.optional(postgresql.JSONB(), "next_action"))


def downgrade() -> None:
    op.drop_column("setup_intents", "next_action")
    op.drop_column("payment_intents", "next_action")
