#!/usr/bin/env bash
# Restores the dumps backup.sh wrote into the (existing, empty) databases PAYCORE_DATABASE_URLS
# names (one per dump: another count restores nothing), shard by shard in the same order, each
# in one transaction: a failure leaves that database empty rather than half restored. Check
# afterwards with CheckIntegrity (README).
#
#   PAYCORE_DATABASE_URLS=postgresql://...,postgresql://... deploy/backup/restore.sh /backups/2026-12-05
set -euo pipefail
in=${1:?usage: restore.sh IN_DIR}
: "${PAYCORE_DATABASE_URLS:?set PAYCORE_DATABASE_URLS}"
IFS=, read -ra urls <<< "$PAYCORE_DATABASE_URLS"
# paycore also takes SQLAlchemy's postgresql+asyncpg://; libpq knows postgresql:// only.
urls=("${urls[@]/#postgresql+asyncpg:\/\//postgresql://}")
# One database per dump: a shorter list would leave a shard's merchants out of the restore.
shopt -s nullglob
dumps=("$in"/shard-*.dump)
if ((${#dumps[@]} != ${#urls[@]})); then
    echo "$in holds ${#dumps[@]} shard dump(s), PAYCORE_DATABASE_URLS names ${#urls[@]}" \
        "database(s): one database per dump, in shard order" >&2
    exit 1
fi
. "$(dirname "${BASH_SOURCE[0]}")/pg_tools.sh"
for shard in "${!urls[@]}"; do
    dump="$in/shard-$shard.dump"
    [[ -f $dump ]] || { echo "missing $dump" >&2; exit 1; }
    tools=$(pg_tools "${urls[$shard]}")
    "${tools:+$tools/}pg_restore" --no-owner --no-privileges --exit-on-error --single-transaction \
        --dbname "${urls[$shard]}" "$dump"
    echo "shard $shard <- $dump"
done
