"""Operations (issue 20): the shard map every process reads (on physical shard 0), and what
moving a logical shard online needs on every database: the fence and change log tables, the
function that reads a logical shard out of an account id, and the trigger function.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"

# paycore.ids in SQL: "acct_" + 22 base62 digits of a 128-bit number whose bits 68..79 are the
# logical shard; anything else (an operator's "admin" keys, platform rows) is -1, never moved.
LOGICAL_SHARD_FUNCTION = r"""
CREATE FUNCTION paycore_logical_shard(id text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    digits CONSTANT text := '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    number numeric := 0;
    digit integer;
BEGIN
    IF left(id, 5) <> 'acct_' OR length(id) <> 27 THEN
        RETURN -1;
    END IF;
    FOR position IN 6..27 LOOP
        digit := strpos(digits, substr(id, position, 1)) - 1;
        IF digit < 0 THEN
            RETURN -1;
        END IF;
        number := number * 62 + digit;
    END LOOP;
    RETURN mod(div(number, 2::numeric ^ 68), 4096)::integer;
END
$$
"""

# Installed on each merchant table of the source database while a move runs (paycore.storage
# .moves): a write to a row of a fenced logical shard is refused; a write to a row of a moving
# one records the row's key. TG_ARGV: the primary key's columns.
MOVE_TRIGGER_FUNCTION = r"""
CREATE FUNCTION paycore_shard_move_capture() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed record;
    shard integer;
    fenced boolean;
    key jsonb := '{}';
    column_name text;
BEGIN
    IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
    IF current_setting('paycore.shard_move', true) = 'cleanup' THEN
        RETURN changed;  -- the move deleting the rows it has moved
    END IF;
    shard := paycore_logical_shard(changed.merchant_id);
    SELECT m.fenced INTO fenced FROM shard_moves m WHERE m.logical_shard = shard;
    IF NOT FOUND THEN
        RETURN changed;
    END IF;
    IF fenced THEN
        RAISE EXCEPTION 'logical shard % is moving', shard USING ERRCODE = 'PCM01';
    END IF;
    FOREACH column_name IN ARRAY TG_ARGV LOOP
        key := key || jsonb_build_object(column_name, to_jsonb(changed) -> column_name);
    END LOOP;
    INSERT INTO shard_move_log (logical_shard, table_name, primary_key)
    VALUES (shard, TG_TABLE_NAME, key);
    IF TG_OP = 'UPDATE' AND OLD.merchant_id IS DISTINCT FROM NEW.merchant_id THEN
        RAISE EXCEPTION 'merchant_id never changes';
    END IF;
    RETURN changed;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "shard_map",
        sa.Column("logical_shard", sa.Integer(), nullable=False),
        sa.Column("physical_shard", sa.Integer(), nullable=False),
        sa.Column(
            "moved_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("logical_shard", name="shard_map_pkey"),
    )
    op.create_table(
        "shard_moves",
        sa.Column("logical_shard", sa.Integer(), nullable=False),
        sa.Column("fenced", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("logical_shard", name="shard_moves_pkey"),
    )
    op.create_table(
        "shard_move_log",
        sa.Column("sequence", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("logical_shard", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("primary_key", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name="shard_move_log_pkey"),
    )
    op.execute(LOGICAL_SHARD_FUNCTION)
    op.execute(MOVE_TRIGGER_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION paycore_shard_move_capture()")
    op.execute("DROP FUNCTION paycore_logical_shard(text)")
    op.drop_table("shard_move_log")
    op.drop_table("shard_moves")
    op.drop_table("shard_map")
