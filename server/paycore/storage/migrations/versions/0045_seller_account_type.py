"""`seller_accounts.type` (Stripe's standard | express | custom, docs/connect.md): the
connected account type a platform created its seller with; existing sellers are custom.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0045"
down_revision = "0044"


def upgrade() -> None:
    op.add_column(
        "seller_accounts",
        sa.Column("type", sa.Text(), nullable=False, server_default="custom"),
    )


def downgrade() -> None:
    op.drop_column("seller_accounts", "type")
