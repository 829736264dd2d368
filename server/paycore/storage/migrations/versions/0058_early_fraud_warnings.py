"""Early fraud warnings (Stripe's `radar.early_fraud_warning`): an issuer's warning that a
charge of the merchant's may be fraudulent, read once from the PSP's feed."""

from __future__ import annotations

import sqlalchemy as sa
from paycore.storage.migrations import ddl

revision = "0058"
down_revision = "0057"


def upgrade() -> None:
    ddl.create_owned_table(
        "early_fraud_warnings",
        *ddl.required(sa.Text(), "id", "psp_warning", "charge", "payment_intent_id", "fraud_type"),
        ddl.created_at(),
    )
    ddl.create_index(
        "early_fraud_warnings_psp_idx",
        "early_fraud_warnings",
        "merchant_id",
        "psp_warning",
        unique=True,
    )
    ddl.create_index(
        "early_fraud_warnings_charge_idx", "early_fraud_warnings", "merchant_id", "charge"
    )


def downgrade() -> None:
    ddl.drop_table_and_indexes(
        "early_fraud_warnings", "early_fraud_warnings_psp_idx", "early_fraud_warnings_charge_idx"
    )
