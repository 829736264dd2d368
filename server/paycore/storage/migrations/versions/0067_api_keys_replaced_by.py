"""A rolled key names the key its roll issued (`replaced_by`): a key rolls once, and the
refusal of a second roll names the successor to roll instead (paycore.account.service)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0067"
down_revision = "0066"


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("replaced_by", sa.Text()))


def downgrade() -> None:
    op.drop_column("api_keys", "replaced_by")
