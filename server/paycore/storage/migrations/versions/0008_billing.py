"""Subscriptions, second part: subscriptions, items, invoices, lines, numbers, billing settings.

Also payment_intents.invoice_id: the invoice an off-session intent pays.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations.columns import created_at, metadata_and_created_at, required
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"


def _text(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _bigint(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def upgrade() -> None:
    op.add_column("payment_intents", sa.Column("invoice_id", sa.Text(), nullable=True))
    op.create_table(
        "subscriptions",
        _text("merchant_id"),
        _text("id"),
        _text("customer_id"),
        _text("status"),
        _text("currency"),
        _text("interval"),
        sa.Column("interval_count", sa.Integer(), nullable=False),
        _bigint("billing_cycle_anchor"),
        _bigint("current_period_start"),
        _bigint("current_period_end"),
        _bigint("trial_start", True),
        _bigint("trial_end", True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        _bigint("canceled_at", True),
        _bigint("ended_at", True),
        _text("default_payment_method_id", True),
        _text("latest_invoice_id", True),
        _text("test_clock_id", True),
        _bigint("credit_balance"),
        _bigint("next_action_at", True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        _bigint("created"),
        *metadata_and_created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="subscriptions_pkey"),
    )
    op.create_index(
        "subscriptions_customer_idx", "subscriptions", ["merchant_id", "customer_id", "id"]
    )
    op.create_index("subscriptions_clock_idx", "subscriptions", ["merchant_id", "test_clock_id"])
    op.create_index(
        "subscriptions_due_idx",
        "subscriptions",
        ["next_action_at"],
        postgresql_where=sa.text("next_action_at IS NOT NULL"),
    )
    op.create_index(
        "subscriptions_dunned_idx",
        "subscriptions",
        ["merchant_id", "id"],
        postgresql_where=sa.text("status IN ('past_due', 'unpaid')"),
    )
    op.create_table(
        "subscription_items",
        _text("merchant_id"),
        _text("id"),
        _text("subscription_id"),
        _text("price_id"),
        _bigint("quantity"),
        _bigint("created"),
        *metadata_and_created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="subscription_items_pkey"),
    )
    op.create_index(
        "subscription_items_subscription_idx",
        "subscription_items",
        ["merchant_id", "subscription_id"],
    )
    op.create_table(
        "invoices",
        _text("merchant_id"),
        _text("id"),
        _text("subscription_id"),
        _text("customer_id"),
        _text("status"),
        _text("billing_reason"),
        _text("currency"),
        _text("number", True),
        _bigint("subtotal"),
        _bigint("total"),
        _bigint("amount_due"),
        _bigint("amount_paid"),
        _text("payment_intent_id", True),
        *required(sa.Integer(), "attempt_count", "retry_count"),
        _bigint("attempted_at", True),
        _bigint("next_payment_attempt", True),
        sa.Column("charging", sa.Boolean(), nullable=False),
        _bigint("period_start"),
        _bigint("period_end"),
        _bigint("paid_at", True),
        _text("test_clock_id", True),
        _bigint("created"),
        *metadata_and_created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="invoices_pkey"),
    )
    op.create_index(
        "invoices_subscription_idx", "invoices", ["merchant_id", "subscription_id", "id"]
    )
    op.create_index("invoices_customer_idx", "invoices", ["merchant_id", "customer_id", "id"])
    op.create_index(
        "invoices_period_idx",
        "invoices",
        ["merchant_id", "subscription_id", "period_start"],
        unique=True,
        postgresql_where=sa.text("billing_reason IN ('subscription_create', 'subscription_cycle')"),
    )
    op.create_index("invoices_number_idx", "invoices", ["merchant_id", "number"], unique=True)
    op.create_index(
        "invoices_charging_idx",
        "invoices",
        ["merchant_id", "subscription_id"],
        postgresql_where=sa.text("charging"),
    )
    op.create_table(
        "invoice_lines",
        _text("merchant_id"),
        _text("id"),
        _text("subscription_id"),
        _text("invoice_id", True),
        _bigint("amount"),
        _text("currency"),
        _text("description"),
        _text("price_id", True),
        _bigint("quantity"),
        _text("subscription_item_id", True),
        sa.Column("proration", sa.Boolean(), nullable=False),
        _bigint("period_start"),
        _bigint("period_end"),
        created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="invoice_lines_pkey"),
    )
    op.create_index("invoice_lines_invoice_idx", "invoice_lines", ["merchant_id", "invoice_id"])
    op.create_index(
        "invoice_lines_pending_idx",
        "invoice_lines",
        ["merchant_id", "subscription_id"],
        postgresql_where=sa.text("invoice_id IS NULL"),
    )
    op.create_table(
        "invoice_numbers",
        _text("merchant_id"),
        _text("prefix"),
        _bigint("last_number"),
        sa.PrimaryKeyConstraint("merchant_id", name="invoice_numbers_pkey"),
    )
    op.create_table(
        "billing_settings",
        _text("merchant_id"),
        sa.Column("retry_schedule_days", postgresql.ARRAY(sa.Integer()), nullable=False),
        _text("final_action"),
        created_at(),
        sa.PrimaryKeyConstraint("merchant_id", name="billing_settings_pkey"),
    )


def downgrade() -> None:
    for table in (
        "billing_settings",
        "invoice_numbers",
        "invoice_lines",
        "invoices",
        "subscription_items",
        "subscriptions",
    ):
        op.drop_table(table)
    op.drop_column("payment_intents", "invoice_id")
