"""Operations: a shard move's capture trigger logs a write before it reads the fence.

The switch (paycore.storage.moves) raises the fence, then takes a lock on the log that waits for
every transaction that has written to it. 0016's trigger read the fence first and wrote the log
after: a writer that read the fence down just before it went up, and reached the log just after
that lock, was not waited for, and its commit on the source could land after the last replay
(lost on the target). Written first, the log's row lock is held from before the fence is read,
so every writer the fence let through is waited for; the others fail as before.
"""

from __future__ import annotations

from alembic import op
from paycore.storage.migrations import ddl

revision = "0020"
down_revision = "0019"

MOVE_TRIGGER_FUNCTION = r"""
CREATE OR REPLACE FUNCTION paycore_shard_move_capture() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed record;
    shard integer;
    key jsonb := '{}';
    column_name text;
BEGIN
    IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
    IF current_setting('paycore.shard_move', true) = 'cleanup' THEN
        RETURN changed;  -- the move deleting the rows it has moved
    END IF;
    shard := paycore_logical_shard(changed.merchant_id);
    PERFORM 1 FROM shard_moves m WHERE m.logical_shard = shard;
    IF NOT FOUND THEN
        RETURN changed;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.merchant_id IS DISTINCT FROM NEW.merchant_id THEN
        RAISE EXCEPTION 'merchant_id never changes';
    END IF;
    FOREACH column_name IN ARRAY TG_ARGV LOOP
        key := key || jsonb_build_object(column_name, to_jsonb(changed) -> column_name);
    END LOOP;
    INSERT INTO shard_move_log (logical_shard, table_name, primary_key)
    VALUES (shard, TG_TABLE_NAME, key);
    -- After the log's lock: unless this sees the fence up, the switch waits for this writer.
    IF (SELECT m.fenced FROM shard_moves m WHERE m.logical_shard = shard) THEN
        RAISE EXCEPTION 'logical shard % is moving', shard USING ERRCODE = 'PCM01';
    END IF;
    RETURN changed;
END
$$
"""


def upgrade() -> None:
    op.execute(MOVE_TRIGGER_FUNCTION)


def downgrade() -> None:
    ddl.restore_function("0016_shard_map", "MOVE_TRIGGER_FUNCTION")
