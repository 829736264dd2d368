"""SetupIntents (seti_): a payment method verified at the PSP and saved for later use, with no
money moved; a payment method a setup saved keeps the usage it was saved for and, for a wallet
card, the PSP's network token (paycore.payment.setup).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl
from sqlalchemy.dialects import postgresql

revision = "0031"
down_revision = "0030"


def upgrade() -> None:
    ddl.create_owned_table(
        "setup_intents",
        *ddl.required(sa.Text(), "id", "status", "usage", "description"),
        *ddl.optional(sa.Text(), "customer_id", "payment_method_id"),
        *ddl.optional(postgresql.JSONB(), "last_setup_error"),
        *ddl.optional(sa.Text(), "execution_id", "cancellation_reason"),
        *ddl.metadata_and_created_at(),
    )
    ddl.create_index(
        "setup_intents_customer_idx", "setup_intents", "merchant_id", "customer_id", "id"
    )
    ddl.add_columns("payment_methods", *ddl.optional(sa.Text(), "setup_usage", "network_token"))


def downgrade() -> None:
    op.drop_column("payment_methods", "network_token")
    op.drop_column("payment_methods", "setup_usage")
    ddl.drop_table_and_indexes("setup_intents", "setup_intents_customer_idx")
