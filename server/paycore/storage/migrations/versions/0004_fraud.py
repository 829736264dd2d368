"""Fraud: assessments, reviews, blocklist items, per-merchant policies."""

from __future__ import annotations

import sqlalchemy as sa
from paycore.storage.migrations import ddl
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    ddl.create_owned_table(
        "fraud_assessments",
        *ddl.required(sa.Text(), "id", "payment"),
        *ddl.required(sa.Integer(), "score"),
        *ddl.required(sa.Text(), "decision"),
        *ddl.required(postgresql.ARRAY(sa.Text()), "reasons"),
        *ddl.required(sa.Text(), "model_version"),
        *ddl.required(sa.BigInteger(), "generator_seed"),
        *ddl.required(sa.Boolean(), "degraded"),
        *ddl.required(sa.BigInteger(), "amount"),
        *ddl.required(sa.Text(), "currency"),
        *ddl.required(postgresql.JSONB(), "facts", "features"),
        *ddl.optional(sa.Text(), "label", "label_note"),
        *ddl.optional(sa.DateTime(timezone=True), "labelled_at"),
        ddl.created_at(),
    )
    ddl.create_index("fraud_assessments_payment_idx", "fraud_assessments", "merchant_id", "payment")
    ddl.create_owned_table(
        "fraud_reviews",
        *ddl.required(sa.Text(), "id", "payment", "assessment_id", "status"),
        *ddl.required(sa.Integer(), "score"),
        *ddl.required(postgresql.ARRAY(sa.Text()), "reasons"),
        *ddl.required(sa.BigInteger(), "amount"),
        *ddl.required(sa.Text(), "currency", "note"),
        *ddl.optional(sa.DateTime(timezone=True), "closed_at"),
        ddl.created_at(),
    )
    ddl.create_index("fraud_reviews_id_idx", "fraud_reviews", "id", unique=True)
    ddl.create_index("fraud_reviews_status_idx", "fraud_reviews", "merchant_id", "status", "id")
    ddl.create_owned_table(
        "fraud_blocklist_items",
        *ddl.required(sa.Text(), "id", "type", "value", "reason"),
        *ddl.metadata_and_created_at(),
    )
    ddl.create_index(
        "fraud_blocklist_items_value_idx",
        "fraud_blocklist_items",
        "merchant_id",
        "type",
        "value",
        unique=True,
    )
    ddl.create_index("fraud_blocklist_items_id_idx", "fraud_blocklist_items", "id", unique=True)
    ddl.create_owned_table(
        "fraud_policies",
        *ddl.required(sa.Integer(), "review_above", "block_above"),
        *ddl.required(sa.BigInteger(), "degraded_review_above_usd"),
        *ddl.required(postgresql.JSONB(), "rules"),
        *ddl.defaulted(sa.DateTime(timezone=True), sa.func.now(), "updated_at"),
        key=(),
    )


def downgrade() -> None:
    ddl.drop_tables("fraud_policies", "fraud_blocklist_items", "fraud_reviews", "fraud_assessments")
