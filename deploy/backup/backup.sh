#!/usr/bin/env bash
# Logical backup of every shard: one pg_dump (custom format) per physical database, named by
# its position in PAYCORE_DATABASE_URLS. Each dump is a consistent snapshot of its shard; the
# shards need no common snapshot, since every money movement is local to one shard (the ledger
# of a merchant never spans two). For small deployments; larger ones use base backups with WAL
# archiving (deploy/README.md, "Backups"). PG_BIN names the folder of a pg_dump matching the
# server's major version when the one on PATH does not (pg_tools.sh finds the pgserver wheel's
# by itself for a server newer than PATH's, the embedded default's).
#
#   PAYCORE_DATABASE_URLS=postgresql://...,postgresql://... deploy/backup/backup.sh /backups/2026-12-05
set -euo pipefail
out=${1:?usage: backup.sh OUT_DIR}
: "${PAYCORE_DATABASE_URLS:?set PAYCORE_DATABASE_URLS}"
mkdir -p "$out"
IFS=, read -ra urls <<< "$PAYCORE_DATABASE_URLS"
# paycore also takes SQLAlchemy's postgresql+asyncpg://; libpq knows postgresql:// only.
urls=("${urls[@]/#postgresql+asyncpg:\/\//postgresql://}")
. "$(dirname "${BASH_SOURCE[0]}")/pg_tools.sh"
for shard in "${!urls[@]}"; do
    tools=$(pg_tools "${urls[$shard]}")
    "${tools:+$tools/}pg_dump" --format=custom --no-owner --no-privileges --file "$out/shard-$shard.dump" "${urls[$shard]}"
    echo "shard $shard -> $out/shard-$shard.dump"
done
