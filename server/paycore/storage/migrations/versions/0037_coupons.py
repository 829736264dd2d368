"""Coupons and discounts: the `coupons` and `promotion_codes` tables; a subscription's
discount (its id, coupon, start and end, promotion code); an invoice's discount and total
discount; each invoice line's discount and its amount.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl

revision = "0037"
down_revision = "0036"


def upgrade() -> None:
    ddl.create_owned_table(
        "coupons",
        *ddl.required(sa.Text(), "id", "name"),
        *ddl.optional(sa.Integer(), "percent_off"),
        *ddl.optional(sa.BigInteger(), "amount_off"),
        *ddl.optional(sa.Text(), "currency"),
        *ddl.required(sa.Text(), "duration"),
        *ddl.optional(sa.Integer(), "duration_in_months"),
        *ddl.optional(sa.BigInteger(), "max_redemptions", "redeem_by"),
        *ddl.required(sa.BigInteger(), "times_redeemed"),
        *ddl.optional(sa.DateTime(timezone=True), "deleted_at"),
        *ddl.metadata_and_created_at(),
    )
    ddl.create_owned_table(
        "promotion_codes",
        *ddl.required(sa.Text(), "id", "code", "coupon_id"),
        *ddl.required(sa.Boolean(), "active"),
        *ddl.optional(sa.BigInteger(), "max_redemptions", "expires_at"),
        *ddl.required(sa.BigInteger(), "times_redeemed"),
        *ddl.metadata_and_created_at(),
    )
    ddl.create_index(
        "promotion_codes_code_idx", "promotion_codes", "merchant_id", "code", unique=True
    )
    ddl.add_columns(
        "subscriptions",
        *ddl.optional(sa.Text(), "discount_id", "discount_coupon_id"),
        *ddl.optional(sa.BigInteger(), "discount_start", "discount_end"),
        *ddl.optional(sa.Text(), "discount_promotion_code_id"),
    )
    ddl.add_columns(
        "checkout_sessions",
        *ddl.defaulted(sa.BigInteger(), sa.text("0"), "amount_discount"),
        *ddl.optional(sa.Text(), "discount_coupon_id", "discount_promotion_code_id"),
    )
    ddl.add_columns(
        "invoices",
        *ddl.optional(sa.Text(), "discount_id"),
        *ddl.defaulted(sa.BigInteger(), sa.text("0"), "total_discount"),
    )
    ddl.add_columns(
        "invoice_lines",
        *ddl.optional(sa.Text(), "discount_id"),
        *ddl.defaulted(sa.BigInteger(), sa.text("0"), "discount_amount"),
    )


def downgrade() -> None:
    for table, column in (
        ("checkout_sessions", "discount_promotion_code_id"),
        ("checkout_sessions", "discount_coupon_id"),
        ("checkout_sessions", "amount_discount"),
        ("invoice_lines", "discount_amount"),
        ("invoice_lines", "discount_id"),
        ("invoices", "total_discount"),
        ("invoices", "discount_id"),
        ("subscriptions", "discount_promotion_code_id"),
        ("subscriptions", "discount_end"),
        ("subscriptions", "discount_start"),
        ("subscriptions", "discount_coupon_id"),
        ("subscriptions", "discount_id"),
    ):
        op.drop_column(table, column)
    op.drop_index("promotion_codes_code_idx", table_name="promotion_codes")
    ddl.drop_tables("promotion_codes", "coupons")
