"""Currencies (issue 19): exchange rates (on every shard), settlement currencies, the exact
rounding carry of conversions, and the conversion columns of balance transactions.

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    op.create_table(
        "exchange_rates",
        sa.Column("base", sa.Text(), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.BigInteger(), nullable=False),
        sa.Column("valid_to", sa.BigInteger()),
        sa.Column("rate", sa.Numeric(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint(
            "base", "quote", "source", "valid_from", name="exchange_rates_pkey"
        ),
    )
    op.create_index("exchange_rates_latest_idx", "exchange_rates", ["base", "quote", "valid_from"])
    op.create_table(
        "settlement_currencies",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("currencies", postgresql.ARRAY(sa.Text()), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "account", name="settlement_currencies_pkey"),
    )
    op.create_table(
        "fx_rounding_carries",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("carry", sa.Numeric(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "currency", name="fx_rounding_carries_pkey"),
    )
    for name, type_, default in (
        ("exchange_rate", sa.Text(), ""),
        ("presentment_amount", sa.BigInteger(), "0"),
        ("presentment_currency", sa.Text(), ""),
        ("conversion_fee", sa.BigInteger(), "0"),
    ):
        op.add_column(
            "balance_transactions",
            sa.Column(name, type_, nullable=False, server_default=default),
        )


def downgrade() -> None:
    for name in ("conversion_fee", "presentment_currency", "presentment_amount", "exchange_rate"):
        op.drop_column("balance_transactions", name)
    op.drop_table("fx_rounding_carries")
    op.drop_table("settlement_currencies")
    op.drop_index("exchange_rates_latest_idx", table_name="exchange_rates")
    op.drop_table("exchange_rates")
