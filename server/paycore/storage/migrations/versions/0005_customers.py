"""Customers and payment methods (cards sealed by the vault; never the cvc)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations.columns import created_at, metadata_and_created_at, required
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "customers",
        *required(sa.Text(), "merchant_id", "id", "email", "name", "description", "phone"),
        sa.Column("address", postgresql.JSONB(), nullable=False),
        sa.Column("default_payment_method_id", sa.Text(), nullable=True),
        *metadata_and_created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="customers_pkey"),
    )
    op.create_index("customers_email_idx", "customers", ["merchant_id", "email", "id"])
    op.create_table(
        "payment_methods",
        *required(sa.Text(), "merchant_id", "id", "type"),
        sa.Column("customer_id", sa.Text(), nullable=True),
        *required(sa.Text(), "brand", "last4"),
        *required(sa.Integer(), "exp_month", "exp_year"),
        *required(sa.Text(), "fingerprint", "country", "funding"),
        sa.Column("number_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("billing_details", postgresql.JSONB(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.Column("detached_at", sa.DateTime(timezone=True), nullable=True),
        created_at(),
        sa.PrimaryKeyConstraint("merchant_id", "id", name="payment_methods_pkey"),
    )
    op.create_index(
        "payment_methods_customer_idx",
        "payment_methods",
        ["merchant_id", "customer_id", "id"],
    )


def downgrade() -> None:
    op.drop_table("payment_methods")
    op.drop_table("customers")
