"""Pay-in: payment intents, payments, orders, refunds, executions, fee plans.

Also the executor's attempts; idempotency keys gain recovery points for requests that reach a
PSP.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    ddl.create_owned_table(
        "execution_attempts",
        *ddl.required(sa.Text(), "execution_id"),
        *ddl.required(sa.Integer(), "number"),
        *ddl.required(sa.Text(), "kind"),
        *ddl.required(sa.DateTime(timezone=True), "started_at"),
        *ddl.optional(sa.DateTime(timezone=True), "finished_at"),
        *ddl.required(sa.Text(), "outcome"),
        *ddl.defaulted(sa.Text(), "", "error_code", "error_message"),
        key=("execution_id", "number"),
    )
    ddl.create_owned_table(
        "executions",
        *ddl.required(sa.Text(), "id", "operation"),
        *ddl.optional(sa.Text(), "payment_intent_id", "payment_order_id", "refund_id"),
        *ddl.required(sa.BigInteger(), "amount"),
        *ddl.required(sa.Text(), "currency"),
        *ddl.optional(sa.Text(), "payment_method_id", "psp_charge"),
        *ddl.required(sa.Text(), "psp_key", "state"),
        *ddl.defaulted(sa.Integer(), "0", "attempt_count"),
        *ddl.optional(sa.DateTime(timezone=True), "next_attempt_at", "lease_until"),
        *ddl.defaulted(sa.Text(), "", "psp_reference"),
        *ddl.optional(postgresql.JSONB(), "result"),
        *ddl.defaulted(sa.Text(), "", "failure_code", "failure_message"),
        *ddl.metadata_and_created_at(),
        *ddl.defaulted(sa.DateTime(timezone=True), sa.text("now()"), "updated_at"),
    )
    ddl.create_index(
        "executions_dead_idx", "executions", "merchant_id", "id", where="state = 'dead_lettered'"
    )
    ddl.create_index(
        "executions_due_idx",
        "executions",
        "next_attempt_at",
        where="state IN ('queued', 'retry_scheduled', 'unknown_outcome')",
    )
    ddl.create_index("executions_id_idx", "executions", "id", unique=True)
    ddl.create_index(
        "executions_running_idx", "executions", "lease_until", where="state = 'running'"
    )
    ddl.create_owned_table(
        "fee_plans",
        *ddl.required(sa.Integer(), "percent_basis_points"),
        *ddl.required(sa.BigInteger(), "fixed_amount"),
        ddl.created_at(),
        key=(),
    )
    ddl.create_owned_table(
        "payment_intents",
        *ddl.required(sa.Text(), "id"),
        *ddl.required(sa.BigInteger(), "amount"),
        *ddl.required(sa.Text(), "currency", "status", "capture_method"),
        *ddl.optional(sa.Text(), "customer_id", "payment_method_id"),
        *ddl.defaulted(sa.BigInteger(), "0", "amount_capturable", "amount_received"),
        *ddl.defaulted(sa.BigInteger(), "0", "amount_refunded", "fee"),
        *ddl.optional(sa.Text(), "transfer_destination"),
        *ddl.defaulted(sa.BigInteger(), "0", "application_fee_amount"),
        *ddl.defaulted(sa.Text(), "", "description"),
        *ddl.optional(postgresql.JSONB(), "last_error", "risk"),
        *ddl.optional(sa.Text(), "psp_charge", "hold_transfer_id", "execution_id"),
        *ddl.optional(sa.DateTime(timezone=True), "canceled_at"),
        *ddl.optional(sa.Text(), "cancellation_reason"),
        *ddl.metadata_and_created_at(),
    )
    ddl.create_index(
        "payment_intents_customer_idx", "payment_intents", "merchant_id", "customer_id", "id"
    )
    ddl.create_owned_table(
        "payment_orders",
        *ddl.required(sa.Text(), "id", "payment_id", "payment_order_id", "seller_account"),
        *ddl.required(sa.BigInteger(), "amount"),
        *ddl.required(sa.Text(), "currency", "status"),
        *ddl.defaulted(sa.BigInteger(), "0", "amount_refunded", "fee"),
        *ddl.defaulted(sa.Text(), "", "psp_reference", "failure_code", "decline_code"),
        *ddl.defaulted(sa.Text(), "", "failure_message"),
        *ddl.optional(sa.Text(), "execution_id"),
        *ddl.metadata_and_created_at(),
    )
    ddl.create_index(
        "payment_orders_client_id_idx",
        "payment_orders",
        "merchant_id",
        "payment_order_id",
        unique=True,
    )
    ddl.create_index("payment_orders_payment_idx", "payment_orders", "merchant_id", "payment_id")
    ddl.create_owned_table(
        "payments",
        *ddl.required(sa.Text(), "id", "checkout_id", "status"),
        *ddl.required(postgresql.JSONB(), "buyer_info"),
        *ddl.optional(sa.Text(), "customer_id"),
        *ddl.required(sa.Text(), "payment_method_id"),
        *ddl.optional(postgresql.JSONB(), "risk"),
        *ddl.defaulted(sa.Text(), "", "failure_code", "failure_message"),
        *ddl.metadata_and_created_at(),
    )
    ddl.create_index("payments_checkout_idx", "payments", "merchant_id", "checkout_id", unique=True)
    ddl.create_owned_table(
        "refunds",
        *ddl.required(sa.Text(), "id"),
        *ddl.optional(sa.Text(), "payment_intent_id", "payment_order_id"),
        *ddl.required(sa.BigInteger(), "amount"),
        *ddl.required(sa.Text(), "currency", "reason", "status"),
        *ddl.defaulted(sa.Text(), "", "failure_reason"),
        *ddl.optional(sa.Text(), "execution_id"),
        *ddl.metadata_and_created_at(),
    )
    ddl.create_index("refunds_payment_intent_idx", "refunds", "merchant_id", "payment_intent_id")
    ddl.create_index("refunds_payment_order_idx", "refunds", "merchant_id", "payment_order_id")
    ddl.add_columns(
        "idempotency_keys",
        *ddl.optional(sa.Text(), "recovery_point"),
        *ddl.optional(sa.DateTime(timezone=True), "locked_until"),
    )


def downgrade() -> None:
    op.drop_column("idempotency_keys", "locked_until")
    op.drop_column("idempotency_keys", "recovery_point")
    ddl.drop_table_and_indexes("refunds", "refunds_payment_order_idx", "refunds_payment_intent_idx")
    ddl.drop_table_and_indexes("payments", "payments_checkout_idx")
    ddl.drop_table_and_indexes(
        "payment_orders", "payment_orders_payment_idx", "payment_orders_client_id_idx"
    )
    ddl.drop_table_and_indexes("payment_intents", "payment_intents_customer_idx")
    ddl.drop_tables("fee_plans")
    ddl.drop_table_and_indexes(
        "executions",
        "executions_running_idx",
        "executions_id_idx",
        "executions_due_idx",
        "executions_dead_idx",
    )
    ddl.drop_tables("execution_attempts")
