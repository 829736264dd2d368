"""Currencies (issue 19): exchange rates (on every shard), settlement currencies, the exact
rounding carry of conversions, and the conversion columns of balance transactions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl
from sqlalchemy.dialects import postgresql

revision = "0019"
down_revision = "0018"

_BALANCE_TRANSACTION_COLUMNS = (
    *ddl.defaulted(sa.Text(), "", "exchange_rate"),
    *ddl.defaulted(sa.BigInteger(), "0", "presentment_amount"),
    *ddl.defaulted(sa.Text(), "", "presentment_currency"),
    *ddl.defaulted(sa.BigInteger(), "0", "conversion_fee"),
)


def upgrade() -> None:
    op.create_table(
        "exchange_rates",
        *ddl.required(sa.Text(), "base", "quote", "source"),
        *ddl.required(sa.BigInteger(), "valid_from"),
        *ddl.optional(sa.BigInteger(), "valid_to"),
        *ddl.required(sa.Numeric(), "rate"),
        ddl.created_at(),
        sa.PrimaryKeyConstraint(
            "base", "quote", "source", "valid_from", name="exchange_rates_pkey"
        ),
    )
    ddl.create_index("exchange_rates_latest_idx", "exchange_rates", "base", "quote", "valid_from")
    ddl.create_owned_table(
        "settlement_currencies",
        *ddl.required(sa.Text(), "account"),
        *ddl.required(postgresql.ARRAY(sa.Text()), "currencies"),
        ddl.created_at(),
        key=("account",),
    )
    ddl.create_owned_table(
        "fx_rounding_carries",
        *ddl.required(sa.Text(), "currency"),
        *ddl.required(sa.Numeric(), "carry"),
        key=("currency",),
    )
    for column in _BALANCE_TRANSACTION_COLUMNS:
        op.add_column("balance_transactions", column)


def downgrade() -> None:
    for column in reversed(_BALANCE_TRANSACTION_COLUMNS):
        op.drop_column("balance_transactions", column.name)
    ddl.drop_tables("fx_rounding_carries", "settlement_currencies")
    ddl.drop_table_and_indexes("exchange_rates", "exchange_rates_latest_idx")
