"""`payment_intents.setup_future_usage` (Stripe's): on_session | off_session, or null; once the
intent succeeds its payment method is saved for that use, as a succeeded SetupIntent saves it
(paycore.payment.completion).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"


def upgrade() -> None:
    op.add_column("payment_intents", sa.Column("setup_future_usage", sa.Text()))


def downgrade() -> None:
    op.drop_column("payment_intents", "setup_future_usage")
