"""Webhooks: endpoints, deliveries of events to them, every attempt, and the events' fan-out
marker (webhooks_fanned_out_at; events written before this revision count as fanned out, since
no endpoint existed to want them)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    ddl.add_column_set_for_existing_rows(
        "events", "webhooks_fanned_out_at", sa.DateTime(timezone=True), sa.func.now()
    )
    ddl.create_index("events_unfanned_idx", "events", "id", where="webhooks_fanned_out_at IS NULL")
    ddl.create_owned_table(
        "webhook_endpoints",
        *ddl.required(sa.Text(), "id", "url"),
        *ddl.required(postgresql.ARRAY(sa.Text()), "enabled_events"),
        *ddl.required(sa.Text(), "description"),
        *ddl.required(postgresql.JSONB(), "metadata"),
        *ddl.required(sa.Text(), "status"),
        *ddl.required(sa.LargeBinary(), "secret"),
        *ddl.optional(sa.LargeBinary(), "previous_secret"),
        *ddl.optional(sa.DateTime(timezone=True), "previous_secret_expires_at", "failing_since"),
        *ddl.required(sa.BigInteger(), "created"),
        ddl.created_at(),
    )
    ddl.create_owned_table(
        "webhook_deliveries",
        *ddl.required(sa.Text(), "id", "event_id", "endpoint_id", "event_type", "status"),
        *ddl.required(sa.Integer(), "attempt_count"),
        *ddl.optional(sa.DateTime(timezone=True), "next_attempt_at", "last_attempt_at"),
        *ddl.required(sa.Integer(), "last_response_status"),
        *ddl.required(sa.Text(), "last_error"),
        *ddl.required(sa.DateTime(timezone=True), "expires_at"),
        *ddl.required(sa.BigInteger(), "created"),
        ddl.created_at(),
    )
    ddl.create_index(
        "webhook_deliveries_due_idx",
        "webhook_deliveries",
        "next_attempt_at",
        where="status = 'pending'",
    )
    ddl.create_index(
        "webhook_deliveries_endpoint_idx",
        "webhook_deliveries",
        "merchant_id",
        "endpoint_id",
        "id",
    )
    ddl.create_index(
        "webhook_deliveries_event_idx", "webhook_deliveries", "merchant_id", "event_id", "id"
    )
    ddl.create_owned_table(
        "webhook_attempts",
        *ddl.required(sa.Text(), "delivery_id"),
        *ddl.required(sa.Integer(), "number"),
        *ddl.required(sa.DateTime(timezone=True), "attempted_at"),
        *ddl.required(sa.Integer(), "response_status", "duration_ms"),
        *ddl.required(sa.Text(), "response_body", "error"),
        key=("delivery_id", "number"),
    )


def downgrade() -> None:
    ddl.drop_tables("webhook_attempts", "webhook_deliveries", "webhook_endpoints")
    op.drop_index("events_unfanned_idx", table_name="events")
    op.drop_column("events", "webhooks_fanned_out_at")
