"""Separate charges and transfers (docs/connect.md): `transfers` (tr_), money moved from the
platform's balance to one of its seller accounts, and `transfer_reversals` (trr_), what was
taken back from the seller.
"""

from __future__ import annotations

import sqlalchemy as sa
from paycore.storage.migrations import ddl
from sqlalchemy.dialects import postgresql

revision = "0036"
down_revision = "0035"

_TRANSFER_INDEXES = ("transfers_destination_idx", "transfers_group_idx", "transfers_source_idx")


def upgrade() -> None:
    ddl.create_owned_table(
        "transfers",
        sa.Column("id", sa.Text(), nullable=False),
        *ddl.required(sa.BigInteger(), "amount", "amount_reversed"),
        *ddl.required(sa.Text(), "currency", "destination", "source_transaction", "transfer_group"),
        *ddl.required(sa.Text(), "description", "balance_transaction"),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
    )
    ddl.create_index("transfers_destination_idx", "transfers", "merchant_id", "destination", "id")
    ddl.create_index("transfers_group_idx", "transfers", "merchant_id", "transfer_group", "id")
    ddl.create_index("transfers_source_idx", "transfers", "merchant_id", "source_transaction")
    ddl.create_owned_table(
        "transfer_reversals",
        *ddl.required(sa.Text(), "id", "transfer_id"),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        *ddl.required(sa.Text(), "currency", "description"),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
    )
    ddl.create_index(
        "transfer_reversals_transfer_idx", "transfer_reversals", "merchant_id", "transfer_id", "id"
    )


def downgrade() -> None:
    ddl.drop_table_and_indexes("transfer_reversals", "transfer_reversals_transfer_idx")
    ddl.drop_table_and_indexes("transfers", *reversed(_TRANSFER_INDEXES))
