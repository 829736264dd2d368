"""Pay-in: payment intents, payments, orders, refunds, executions, fee plans.

Also the executor's attempts; idempotency keys gain recovery points for requests that reach a
PSP.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations.columns import required
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "execution_attempts",
        *required(sa.Text(), "merchant_id", "execution_id"),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("error_code", sa.Text(), server_default="", nullable=False),
        sa.Column("error_message", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint(
            "merchant_id", "execution_id", "number", name="execution_attempts_pkey"
        ),
    )
    op.create_table(
        "executions",
        *required(sa.Text(), "merchant_id", "id", "operation"),
        sa.Column("payment_intent_id", sa.Text(), nullable=True),
        sa.Column("payment_order_id", sa.Text(), nullable=True),
        sa.Column("refund_id", sa.Text(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("payment_method_id", sa.Text(), nullable=True),
        sa.Column("psp_charge", sa.Text(), nullable=True),
        *required(sa.Text(), "psp_key", "state"),
        sa.Column("attempt_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("psp_reference", sa.Text(), server_default="", nullable=False),
        sa.Column("result", postgresql.JSONB(), nullable=True),
        sa.Column("failure_code", sa.Text(), server_default="", nullable=False),
        sa.Column("failure_message", sa.Text(), server_default="", nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="executions_pkey"),
    )
    op.create_index(
        "executions_dead_idx",
        "executions",
        ["merchant_id", "id"],
        unique=False,
        postgresql_where=sa.text("state = 'dead_lettered'"),
    )
    op.create_index(
        "executions_due_idx",
        "executions",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("state IN ('queued', 'retry_scheduled', 'unknown_outcome')"),
    )
    op.create_index("executions_id_idx", "executions", ["id"], unique=True)
    op.create_index(
        "executions_running_idx",
        "executions",
        ["lease_until"],
        unique=False,
        postgresql_where=sa.text("state = 'running'"),
    )
    op.create_table(
        "fee_plans",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("percent_basis_points", sa.Integer(), nullable=False),
        sa.Column("fixed_amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("merchant_id", name="fee_plans_pkey"),
    )
    op.create_table(
        "payment_intents",
        *required(sa.Text(), "merchant_id", "id"),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        *required(sa.Text(), "currency", "status", "capture_method"),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("payment_method_id", sa.Text(), nullable=True),
        sa.Column("amount_capturable", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("amount_received", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("amount_refunded", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("fee", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("transfer_destination", sa.Text(), nullable=True),
        sa.Column("application_fee_amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("last_error", postgresql.JSONB(), nullable=True),
        sa.Column("risk", postgresql.JSONB(), nullable=True),
        sa.Column("psp_charge", sa.Text(), nullable=True),
        sa.Column("hold_transfer_id", sa.Text(), nullable=True),
        sa.Column("execution_id", sa.Text(), nullable=True),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancellation_reason", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="payment_intents_pkey"),
    )
    op.create_index(
        "payment_intents_customer_idx",
        "payment_intents",
        ["merchant_id", "customer_id", "id"],
        unique=False,
    )
    op.create_table(
        "payment_orders",
        *required(
            sa.Text(), "merchant_id", "id", "payment_id", "payment_order_id", "seller_account"
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        *required(sa.Text(), "currency", "status"),
        sa.Column("amount_refunded", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("fee", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("psp_reference", sa.Text(), server_default="", nullable=False),
        sa.Column("failure_code", sa.Text(), server_default="", nullable=False),
        sa.Column("decline_code", sa.Text(), server_default="", nullable=False),
        sa.Column("failure_message", sa.Text(), server_default="", nullable=False),
        sa.Column("execution_id", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="payment_orders_pkey"),
    )
    op.create_index(
        "payment_orders_client_id_idx",
        "payment_orders",
        ["merchant_id", "payment_order_id"],
        unique=True,
    )
    op.create_index(
        "payment_orders_payment_idx", "payment_orders", ["merchant_id", "payment_id"], unique=False
    )
    op.create_table(
        "payments",
        *required(sa.Text(), "merchant_id", "id", "checkout_id", "status"),
        sa.Column("buyer_info", postgresql.JSONB(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("payment_method_id", sa.Text(), nullable=False),
        sa.Column("risk", postgresql.JSONB(), nullable=True),
        sa.Column("failure_code", sa.Text(), server_default="", nullable=False),
        sa.Column("failure_message", sa.Text(), server_default="", nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="payments_pkey"),
    )
    op.create_index(
        "payments_checkout_idx", "payments", ["merchant_id", "checkout_id"], unique=True
    )
    op.create_table(
        "refunds",
        *required(sa.Text(), "merchant_id", "id"),
        sa.Column("payment_intent_id", sa.Text(), nullable=True),
        sa.Column("payment_order_id", sa.Text(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        *required(sa.Text(), "currency", "reason", "status"),
        sa.Column("failure_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("execution_id", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="refunds_pkey"),
    )
    op.create_index(
        "refunds_payment_intent_idx", "refunds", ["merchant_id", "payment_intent_id"], unique=False
    )
    op.create_index(
        "refunds_payment_order_idx", "refunds", ["merchant_id", "payment_order_id"], unique=False
    )
    op.add_column("idempotency_keys", sa.Column("recovery_point", sa.Text(), nullable=True))
    op.add_column(
        "idempotency_keys", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("idempotency_keys", "locked_until")
    op.drop_column("idempotency_keys", "recovery_point")
    op.drop_index("refunds_payment_order_idx", table_name="refunds")
    op.drop_index("refunds_payment_intent_idx", table_name="refunds")
    op.drop_table("refunds")
    op.drop_index("payments_checkout_idx", table_name="payments")
    op.drop_table("payments")
    op.drop_index("payment_orders_payment_idx", table_name="payment_orders")
    op.drop_index("payment_orders_client_id_idx", table_name="payment_orders")
    op.drop_table("payment_orders")
    op.drop_index("payment_intents_customer_idx", table_name="payment_intents")
    op.drop_table("payment_intents")
    op.drop_table("fee_plans")
    op.drop_index(
        "executions_running_idx",
        table_name="executions",
        postgresql_where=sa.text("state = 'running'"),
    )
    op.drop_index("executions_id_idx", table_name="executions")
    op.drop_index(
        "executions_due_idx",
        table_name="executions",
        postgresql_where=sa.text("state IN ('queued', 'retry_scheduled', 'unknown_outcome')"),
    )
    op.drop_index(
        "executions_dead_idx",
        table_name="executions",
        postgresql_where=sa.text("state = 'dead_lettered'"),
    )
    op.drop_table("executions")
    op.drop_table("execution_attempts")
