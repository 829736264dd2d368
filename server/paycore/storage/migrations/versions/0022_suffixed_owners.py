"""Operations: a shard move carries the idempotency keys of publishable and restricted keys.

Those keys are owned by the merchant id plus "/" and the key class (`acct_...`
"/publishable_key", paycore.runtime.mutations.idempotency_owner), which 0016's
paycore_logical_shard answered -1: a move neither logged, fenced nor refused their writes, so
a retry on the new database found no key and could charge a second time. The function now
reads the logical shard of the id before the first "/"; the move's copy and cleanup select
those owners too (paycore.storage.moves).
"""

from __future__ import annotations

from alembic import op
from paycore.storage.migrations import ddl

revision = "0022"
down_revision = "0021"

LOGICAL_SHARD_FUNCTION = r"""
CREATE OR REPLACE FUNCTION paycore_logical_shard(id text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    digits CONSTANT text := '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    -- An account id, alone or followed by "/" and anything (its idempotency keys' owners).
    account_digits CONSTANT text := substring(id FROM '^acct_([0-9A-Za-z]{22})(?:/|$)');
    number numeric := 0;
BEGIN
    IF account_digits IS NULL THEN
        RETURN -1;
    END IF;
    FOR position IN 1..22 LOOP
        number := number * 62 + strpos(digits, substr(account_digits, position, 1)) - 1;
    END LOOP;
    RETURN mod(div(number, 2::numeric ^ 68), 4096)::integer;
END
$$
"""


def upgrade() -> None:
    op.execute(LOGICAL_SHARD_FUNCTION)


def downgrade() -> None:
    ddl.restore_function("0016_shard_map", "LOGICAL_SHARD_FUNCTION")
