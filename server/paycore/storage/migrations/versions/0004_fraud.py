"""Fraud: assessments, reviews, blocklist items, per-merchant policies."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations.columns import created_at, metadata_and_created_at, required
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "fraud_assessments",
        *required(sa.Text(), "merchant_id", "id", "payment"),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("reasons", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("model_version", sa.Text(), nullable=False),
        sa.Column("generator_seed", sa.BigInteger(), nullable=False),
        sa.Column("degraded", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("facts", postgresql.JSONB(), nullable=False),
        sa.Column("features", postgresql.JSONB(), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("label_note", sa.Text(), nullable=True),
        sa.Column("labelled_at", sa.DateTime(timezone=True), nullable=True),
        created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="fraud_assessments_pkey"),
    )
    op.create_index(
        "fraud_assessments_payment_idx", "fraud_assessments", ["merchant_id", "payment"]
    )
    op.create_table(
        "fraud_reviews",
        *required(sa.Text(), "merchant_id", "id", "payment", "assessment_id", "status"),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reasons", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        *required(sa.Text(), "currency", "note"),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="fraud_reviews_pkey"),
    )
    op.create_index("fraud_reviews_id_idx", "fraud_reviews", ["id"], unique=True)
    op.create_index("fraud_reviews_status_idx", "fraud_reviews", ["merchant_id", "status", "id"])
    op.create_table(
        "fraud_blocklist_items",
        *required(sa.Text(), "merchant_id", "id", "type", "value", "reason"),
        *metadata_and_created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="fraud_blocklist_items_pkey"),
    )
    op.create_index(
        "fraud_blocklist_items_value_idx",
        "fraud_blocklist_items",
        ["merchant_id", "type", "value"],
        unique=True,
    )
    op.create_index("fraud_blocklist_items_id_idx", "fraud_blocklist_items", ["id"], unique=True)
    op.create_table(
        "fraud_policies",
        sa.Column("merchant_id", sa.Text(), nullable=False),
        *required(sa.Integer(), "review_above", "block_above"),
        sa.Column("degraded_review_above_usd", sa.BigInteger(), nullable=False),
        sa.Column("rules", postgresql.JSONB(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.PrimaryKeyConstraint("merchant_id", name="fraud_policies_pkey"),
    )


def downgrade() -> None:
    for table in ("fraud_policies", "fraud_blocklist_items", "fraud_reviews", "fraud_assessments"):
        op.drop_table(table)
