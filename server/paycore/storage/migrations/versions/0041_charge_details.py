"""`charge_details`: what UpdateCharge set of a charge (Stripe's description, metadata,
receipt_email, shipping), by its PSP id. A charge is derived from its intent's execution
(paycore.payment.charges); a field given here is the charge's own, null ones still its intent's.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl
from sqlalchemy.dialects import postgresql

revision = "0041"
down_revision = "0040"


def upgrade() -> None:
    ddl.create_owned_table(
        "charge_details",
        sa.Column("charge_id", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("metadata", postgresql.JSONB()),
        sa.Column("receipt_email", sa.Text()),
        sa.Column("shipping", postgresql.JSONB()),
        key=("charge_id",),
    )


def downgrade() -> None:
    op.drop_table("charge_details")
