"""`invoices.failure_reported`: a default_incomplete invoice whose customer's payment failed
(declined, or their authentication failed after requires_action) sends invoice.payment_failed
once (paycore.subscription.collection: declined_by_customer). Invoices with an attempt
counted already are taken as reported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"


def upgrade() -> None:
    op.add_column(
        "invoices",
        sa.Column("failure_reported", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute("UPDATE invoices SET failure_reported = attempt_count > 0")


def downgrade() -> None:
    op.drop_column("invoices", "failure_reported")
