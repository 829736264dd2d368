"""`seller_accounts.capabilities` (Stripe's `capabilities[<name>][requested]` of a connected
account, docs/connect.md): the capabilities a platform requested for its seller at creation,
name -> "active"; existing sellers have none. And `payouts.statement_descriptor` (Stripe's
`statement_descriptor` of a payout, "" none).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0064"
down_revision = "0062"


def upgrade() -> None:
    op.add_column(
        "seller_accounts",
        sa.Column(
            "capabilities",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'{}'::jsonb"),
        ),
    )
    op.add_column(
        "payouts",
        sa.Column("statement_descriptor", sa.Text(), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_column("payouts", "statement_descriptor")
    op.drop_column("seller_accounts", "capabilities")
