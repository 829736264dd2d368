"""An intent's executions indexed by the intent: ListCharges' `payment_intent` filter (and its
`customer` filter, through the customer's intents) reads the intent's charge attempts
(paycore.payment.charges) without reading every execution of the merchant.
"""

from __future__ import annotations

from alembic import op
from paycore.storage.migrations import ddl

revision = "0035"
down_revision = "0034"


def upgrade() -> None:
    ddl.create_index(
        "executions_payment_intent_idx",
        "executions",
        "merchant_id",
        "payment_intent_id",
        "id",
        where="payment_intent_id IS NOT NULL",
    )


def downgrade() -> None:
    op.drop_index("executions_payment_intent_idx", table_name="executions")
