"""`seller_accounts.capabilities` (Stripe's `capabilities[<name>][requested]` of a connected
account, docs/connect.md): the capabilities a platform requested for its seller at creation,
name -> "active"; existing sellers have none.
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


def downgrade() -> None:
    op.drop_column("seller_accounts", "capabilities")
