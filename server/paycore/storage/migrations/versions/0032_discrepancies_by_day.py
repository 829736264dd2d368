"""A day's discrepancies of a source, indexed on their own: reconciliation reads them without a
merchant (what a rerun of the day no longer finds, the resolutions it reverses, the operator's
resolved absences, the timings the next day's report never carried:
paycore.reconciliation.discrepancies and matching), which the key index (merchant first) could
only serve by reading it whole.
"""

from __future__ import annotations

from alembic import op
from paycore.storage.migrations import ddl

revision = "0032"
down_revision = "0031"


def upgrade() -> None:
    ddl.create_index(
        "reconciliation_discrepancies_day_idx", "reconciliation_discrepancies", "source", "day"
    )


def downgrade() -> None:
    op.drop_index("reconciliation_discrepancies_day_idx", table_name="reconciliation_discrepancies")
