"""`checkout_sessions.client_reference_id` (Stripe's): the merchant's own reference for a
session (an order or cart id), shown on the session and its events; null when none was given.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0050"
down_revision = "0049"


def upgrade() -> None:
    op.add_column("checkout_sessions", sa.Column("client_reference_id", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("checkout_sessions", "client_reference_id")
