"""One-off drafts with auto_advance, indexed on their own: the billing job looks for those that
have come due every run (paycore.subscription.billing: _advance_one_off, and a test clock is
ready only once none is due on it), which without it would read every invoice of the shard.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0066"
down_revision = "0065"

WHERE = "status = 'draft' AND auto_advance AND subscription_id IS NULL"


def upgrade() -> None:
    op.create_index(
        "invoices_auto_advance_idx",
        "invoices",
        ["created"],
        postgresql_where=sa.text(WHERE),
    )


def downgrade() -> None:
    op.drop_index("invoices_auto_advance_idx", table_name="invoices")
