"""Subscriptions, second part: subscriptions, items, invoices, lines, numbers, billing settings.

Also payment_intents.invoice_id: the invoice an off-session intent pays.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    ddl.add_columns("payment_intents", *ddl.optional(sa.Text(), "invoice_id"))
    ddl.create_owned_table(
        "subscriptions",
        *ddl.required(sa.Text(), "id", "customer_id", "status", "currency", "interval"),
        *ddl.required(sa.Integer(), "interval_count"),
        *ddl.required(
            sa.BigInteger(), "billing_cycle_anchor", "current_period_start", "current_period_end"
        ),
        *ddl.optional(sa.BigInteger(), "trial_start", "trial_end"),
        *ddl.required(sa.Boolean(), "cancel_at_period_end"),
        *ddl.optional(sa.BigInteger(), "canceled_at", "ended_at"),
        *ddl.optional(sa.Text(), "default_payment_method_id", "latest_invoice_id", "test_clock_id"),
        *ddl.required(sa.BigInteger(), "credit_balance"),
        *ddl.optional(sa.BigInteger(), "next_action_at"),
        *ddl.optional(sa.DateTime(timezone=True), "claimed_until"),
        *ddl.required(sa.BigInteger(), "created"),
        *ddl.metadata_and_created_at(),
    )
    ddl.create_index(
        "subscriptions_customer_idx", "subscriptions", "merchant_id", "customer_id", "id"
    )
    ddl.create_index("subscriptions_clock_idx", "subscriptions", "merchant_id", "test_clock_id")
    ddl.create_index(
        "subscriptions_due_idx",
        "subscriptions",
        "next_action_at",
        where="next_action_at IS NOT NULL",
    )
    ddl.create_index(
        "subscriptions_dunned_idx",
        "subscriptions",
        "merchant_id",
        "id",
        where="status IN ('past_due', 'unpaid')",
    )
    ddl.create_owned_table(
        "subscription_items",
        *ddl.required(sa.Text(), "id", "subscription_id", "price_id"),
        *ddl.required(sa.BigInteger(), "quantity", "created"),
        *ddl.metadata_and_created_at(),
    )
    ddl.create_index(
        "subscription_items_subscription_idx",
        "subscription_items",
        "merchant_id",
        "subscription_id",
    )
    ddl.create_owned_table(
        "invoices",
        *ddl.required(sa.Text(), "id", "subscription_id", "customer_id", "status"),
        *ddl.required(sa.Text(), "billing_reason", "currency"),
        *ddl.optional(sa.Text(), "number"),
        *ddl.required(sa.BigInteger(), "subtotal", "total", "amount_due", "amount_paid"),
        *ddl.optional(sa.Text(), "payment_intent_id"),
        *ddl.required(sa.Integer(), "attempt_count", "retry_count"),
        *ddl.optional(sa.BigInteger(), "attempted_at", "next_payment_attempt"),
        *ddl.required(sa.Boolean(), "charging"),
        *ddl.required(sa.BigInteger(), "period_start", "period_end"),
        *ddl.optional(sa.BigInteger(), "paid_at"),
        *ddl.optional(sa.Text(), "test_clock_id"),
        *ddl.required(sa.BigInteger(), "created"),
        *ddl.metadata_and_created_at(),
    )
    ddl.create_index(
        "invoices_subscription_idx", "invoices", "merchant_id", "subscription_id", "id"
    )
    ddl.create_index("invoices_customer_idx", "invoices", "merchant_id", "customer_id", "id")
    ddl.create_index(
        "invoices_period_idx",
        "invoices",
        "merchant_id",
        "subscription_id",
        "period_start",
        unique=True,
        where="billing_reason IN ('subscription_create', 'subscription_cycle')",
    )
    ddl.create_index("invoices_number_idx", "invoices", "merchant_id", "number", unique=True)
    ddl.create_index(
        "invoices_charging_idx", "invoices", "merchant_id", "subscription_id", where="charging"
    )
    ddl.create_owned_table(
        "invoice_lines",
        *ddl.required(sa.Text(), "id", "subscription_id"),
        *ddl.optional(sa.Text(), "invoice_id"),
        *ddl.required(sa.BigInteger(), "amount"),
        *ddl.required(sa.Text(), "currency", "description"),
        *ddl.optional(sa.Text(), "price_id"),
        *ddl.required(sa.BigInteger(), "quantity"),
        *ddl.optional(sa.Text(), "subscription_item_id"),
        *ddl.required(sa.Boolean(), "proration"),
        *ddl.required(sa.BigInteger(), "period_start", "period_end"),
        ddl.created_at(),
    )
    ddl.create_index("invoice_lines_invoice_idx", "invoice_lines", "merchant_id", "invoice_id")
    ddl.create_index(
        "invoice_lines_pending_idx",
        "invoice_lines",
        "merchant_id",
        "subscription_id",
        where="invoice_id IS NULL",
    )
    ddl.create_owned_table(
        "invoice_numbers",
        *ddl.required(sa.Text(), "prefix"),
        *ddl.required(sa.BigInteger(), "last_number"),
        key=(),
    )
    ddl.create_owned_table(
        "billing_settings",
        *ddl.required(postgresql.ARRAY(sa.Integer()), "retry_schedule_days"),
        *ddl.required(sa.Text(), "final_action"),
        ddl.created_at(),
        key=(),
    )


def downgrade() -> None:
    ddl.drop_tables(
        "billing_settings",
        "invoice_numbers",
        "invoice_lines",
        "invoices",
        "subscription_items",
        "subscriptions",
    )
    op.drop_column("payment_intents", "invoice_id")
