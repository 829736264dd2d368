"""Customers and payment methods (cards sealed by the vault; never the cvc)."""

from __future__ import annotations

import sqlalchemy as sa
from paycore.storage.migrations import ddl
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    ddl.create_owned_table(
        "customers",
        *ddl.required(sa.Text(), "id", "email", "name", "description", "phone"),
        *ddl.required(postgresql.JSONB(), "address"),
        *ddl.optional(sa.Text(), "default_payment_method_id"),
        *ddl.metadata_and_created_at(),
    )
    ddl.create_index("customers_email_idx", "customers", "merchant_id", "email", "id")
    ddl.create_owned_table(
        "payment_methods",
        *ddl.required(sa.Text(), "id", "type"),
        *ddl.optional(sa.Text(), "customer_id"),
        *ddl.required(sa.Text(), "brand", "last4"),
        *ddl.required(sa.Integer(), "exp_month", "exp_year"),
        *ddl.required(sa.Text(), "fingerprint", "country", "funding"),
        *ddl.required(sa.LargeBinary(), "number_sealed"),
        *ddl.required(postgresql.JSONB(), "billing_details", "metadata"),
        *ddl.optional(sa.DateTime(timezone=True), "detached_at"),
        ddl.created_at(),
    )
    ddl.create_index(
        "payment_methods_customer_idx", "payment_methods", "merchant_id", "customer_id", "id"
    )


def downgrade() -> None:
    ddl.drop_tables("payment_methods", "customers")
