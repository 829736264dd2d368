"""Operations: a database refuses, for good, the writes of a logical shard it has moved away.

A shard move's cleanup (paycore.storage.moves) removes the fence. A flow that still holds the
old database's engine (a phased payment keeps it across its PSP call) would then write the
moved shard's rows there, where nothing reads them again. The move now leaves a row in
`shards_moved_away` and a BEFORE INSERT trigger on each merchant table, whose WHEN clause names
the moved-away shards: such a write fails with PCM01, as at the fence (UNAVAILABLE, retried
where the shard map now says). A database that never moved a shard away has no such trigger:
its writes cost what they did. Moving the shard back clears its row; the move's own writes
into the database (copy and replay) set paycore.shard_move = 'copy' and pass.

Inserts only: the moved rows are gone from the old database, so an update or delete there
matches nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from paycore.storage.migrations import ddl

revision = "0021"
down_revision = "0020"

MOVED_AWAY_FUNCTION = r"""
CREATE FUNCTION paycore_shard_moved_away() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    shard integer := paycore_logical_shard(NEW.merchant_id);
BEGIN
    IF current_setting('paycore.shard_move', true) = 'copy' THEN
        RETURN NEW;  -- a move bringing the shard back
    END IF;
    -- The trigger's list may lag a move back by the time its DDL takes: the table decides.
    PERFORM 1 FROM shards_moved_away m WHERE m.logical_shard = shard;
    IF NOT FOUND THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'logical shard % has moved to another database', shard
        USING ERRCODE = 'PCM01';
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "shards_moved_away",
        *ddl.required(sa.Integer(), "logical_shard", "physical_shard"),
        *ddl.defaulted(sa.DateTime(timezone=True), sa.func.now(), "moved_at"),
        sa.PrimaryKeyConstraint("logical_shard", name="shards_moved_away_pkey"),
    )
    op.execute(MOVED_AWAY_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION paycore_shard_moved_away() CASCADE")
    op.drop_table("shards_moved_away")
