"""A subscription invoice's payment intents indexed by the invoice: the billing job looks for
an invoice's second succeeded intent (a duplicate charge) and refunds it
(paycore.subscription.collection: refund_duplicates).
"""

from __future__ import annotations

from alembic import op
from paycore.storage.migrations import ddl

revision = "0038"
down_revision = "0037"


def upgrade() -> None:
    ddl.create_index(
        "payment_intents_invoice_idx",
        "payment_intents",
        "merchant_id",
        "invoice_id",
        where="invoice_id IS NOT NULL",
    )


def downgrade() -> None:
    op.drop_index("payment_intents_invoice_idx", table_name="payment_intents")
