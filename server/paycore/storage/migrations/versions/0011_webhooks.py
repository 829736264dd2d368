"""Webhooks: endpoints, deliveries of events to them, every attempt, and the events' fan-out
marker (webhooks_fanned_out_at; events written before this revision count as fanned out, since
no endpoint existed to want them)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    # now() is evaluated once for the existing rows (no table rewrite); new rows get null.
    op.add_column(
        "events",
        sa.Column(
            "webhooks_fanned_out_at", sa.DateTime(timezone=True), server_default=sa.func.now()
        ),
    )
    op.alter_column("events", "webhooks_fanned_out_at", server_default=None)
    op.create_index(
        "events_unfanned_idx",
        "events",
        ["id"],
        postgresql_where=sa.text("webhooks_fanned_out_at IS NULL"),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("enabled_events", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("previous_secret", sa.LargeBinary(), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="webhook_endpoints_pkey"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("endpoint_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_response_status", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="webhook_deliveries_pkey"),
    )
    op.create_index(
        "webhook_deliveries_due_idx",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "webhook_deliveries_endpoint_idx",
        "webhook_deliveries",
        ["merchant_id", "endpoint_id", "id"],
    )
    op.create_index(
        "webhook_deliveries_event_idx", "webhook_deliveries", ["merchant_id", "event_id", "id"]
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("delivery_id", sa.Text(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "merchant_id", "delivery_id", "number", name="webhook_attempts_pkey"
        ),
    )


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_index("events_unfanned_idx", table_name="events")
    op.drop_column("events", "webhooks_fanned_out_at")
