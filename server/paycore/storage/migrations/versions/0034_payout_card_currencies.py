"""A payout card's currency: as Stripe's external accounts, each payout card takes payouts in
one currency only (an instant payout of 1000 EUR went to a US debit card). `payout_currency`
is set for registered cards, null for any other; `payout_default` marks the payee's default
card for that currency (one at most: a partial unique index).

Cards registered before this migration get their payee's default currency: the first of its
settlement currencies, else its `default_currency` (the seller's, or the merchant's for ""),
and the oldest card of each payee and currency becomes its default.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl

revision = "0034"
down_revision = "0033"

_PAYEES_DEFAULT_CURRENCY = """
UPDATE payment_methods AS pm
SET payout_currency = coalesce(
    (SELECT sc.currencies[1] FROM settlement_currencies AS sc
     WHERE sc.merchant_id = pm.merchant_id AND sc.account = pm.payout_account
       AND cardinality(sc.currencies) > 0),
    (SELECT s.default_currency FROM seller_accounts AS s
     WHERE s.merchant_id = pm.merchant_id AND s.id = pm.payout_account),
    (SELECT m.default_currency FROM merchants AS m WHERE m.merchant_id = pm.merchant_id)
)
WHERE pm.payout_account IS NOT NULL
"""

_OLDEST_IS_DEFAULT = """
UPDATE payment_methods AS pm
SET payout_default = true
FROM (
    SELECT DISTINCT ON (merchant_id, payout_account, payout_currency) merchant_id, id
    FROM payment_methods
    WHERE payout_account IS NOT NULL
    ORDER BY merchant_id, payout_account, payout_currency, created_at, id
) AS oldest
WHERE pm.merchant_id = oldest.merchant_id AND pm.id = oldest.id
"""


def upgrade() -> None:
    ddl.add_columns(
        "payment_methods",
        *ddl.optional(sa.Text(), "payout_currency"),
        *ddl.defaulted(sa.Boolean(), sa.text("false"), "payout_default"),
    )
    op.execute(_PAYEES_DEFAULT_CURRENCY)
    op.execute(_OLDEST_IS_DEFAULT)
    ddl.create_index(
        "payment_methods_payout_default_idx",
        "payment_methods",
        "merchant_id",
        "payout_account",
        "payout_currency",
        unique=True,
        where="payout_default",
    )


def downgrade() -> None:
    op.drop_index("payment_methods_payout_default_idx", table_name="payment_methods")
    op.drop_column("payment_methods", "payout_default")
    op.drop_column("payment_methods", "payout_currency")
