"""A debit card registered as a payout destination (CreatePayoutCard): the payment method's
payee, "" for the merchant's own or the "acct_..." seller's; null for a card that is no payee's
external account (a customer's, or one never registered), which no payout may go to.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl

revision = "0030"
down_revision = "0029"


def upgrade() -> None:
    ddl.add_columns("payment_methods", *ddl.optional(sa.Text(), "payout_account"))


def downgrade() -> None:
    op.drop_column("payment_methods", "payout_account")
