#!/usr/bin/env bash
# The payments benchmark, self-contained: two scratch databases (shards) on the local
# PostgreSQL, `paycore psp` (no latency) and `paycore serve` on free ports, a 200-payment
# warm-up, then `paycore bench payments` with the given options; it prints the bench's report
# and the CPU milliseconds per payment of the server, the simulator and the PostgreSQL backends
# of the scratch databases (read from /proc, so PostgreSQL must run on this machine), then
# drops the databases. On a shared machine rates move with the other work; CPU per payment
# much less, so compare variants by it (docs/benchmarks.md, "Payments benchmark").
#
#   scripts/bench_payments.sh --duration 10 --concurrency 8
#   scripts/bench_payments.sh --duration 10 --rate 100 --concurrency 64
#
# PAYCORE_BENCH_PG (default postgresql://postgres@127.0.0.1:5432) is a server the bench may
# create databases on; PAYCORE_REDIS_URL defaults to redis://127.0.0.1:6379/0 (the bench's keys
# get a prefix of their own); PAYCORE_DB_POOL_SIZE defaults to 30 here. SERVE_ARGS passes options to `paycore serve` (e.g. --workers 2;
# the server's CPU then counts only the supervisor). LOG_STATEMENTS=FILE turns on
# log_statement=all for the scratch databases and copies what the run logged to FILE
# (/var/log/postgresql/postgresql-15-main.log, readable on this machine) to count statements.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG=${PAYCORE_BENCH_PG:-postgresql://postgres@127.0.0.1:5432}
WORK=$(mktemp -d)
TAG=bench_payments_$$
free_port() { "$BIN/python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
backend_ticks() {
    local total=0 pid
    for pid in $(psql -At "$PG/postgres" -c "SELECT pid FROM pg_stat_activity WHERE datname LIKE '${TAG}_%'"); do
        if [ -r "/proc/$pid/stat" ]; then total=$((total + $(cpu_ticks "$pid"))); fi
    done
    echo "$total"
}

export PAYCORE_DATABASE_URLS="$PG/${TAG}_0,$PG/${TAG}_1"
export PAYCORE_REDIS_URL=${PAYCORE_REDIS_URL:-redis://127.0.0.1:6379/0}
export PAYCORE_REDIS_PREFIX="$TAG:"
export PAYCORE_ADMIN_TOKEN=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))')
export PAYCORE_KEY_HASH_SECRET=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))')
export PAYCORE_VAULT_KEY=$("$BIN/python" -c 'from paycore.customer.vault import new_vault_key; print(new_vault_key())')
export PAYCORE_CARD_FINGERPRINT_KEY=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))')
export PAYCORE_RATE_LIMITS="payments=0,subscriptions=0,other=0"
export PAYCORE_GRPC_ADDR=127.0.0.1:$(free_port)
export PAYCORE_HTTP_ADDR=127.0.0.1:$(free_port)
export PAYCORE_METRICS_ADDR=127.0.0.1:$(free_port)
PSP_ADDR=127.0.0.1:$(free_port)
export PAYCORE_PSP_URL=http://$PSP_ADDR
export PAYCORE_LOG_LEVEL=WARNING
# A pool for the bench's load: with the default 10 (+10 overflow, closed again when returned),
# bursts of an open loop open and close connections, each preparing its statements anew
# (at --rate 100: p99 1,443 ms with 10, 75 ms with 30).
export PAYCORE_DB_POOL_SIZE=${PAYCORE_DB_POOL_SIZE:-30}

PSP_PID="" SERVE_PID=""
cleanup() {
    for pid in $SERVE_PID $PSP_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    for database in "${TAG}_0" "${TAG}_1"; do
        psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)"
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

for database in "${TAG}_0" "${TAG}_1"; do
    psql -q "$PG/postgres" -c "CREATE DATABASE $database"
    if [ -n "${LOG_STATEMENTS:-}" ]; then
        psql -q "$PG/postgres" -c "ALTER DATABASE $database SET log_statement = 'all'"
    fi
done
"$BIN/paycore" migrate >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log"; exit 1; }
"$BIN/paycore" psp --addr "$PSP_ADDR" --data-dir "$WORK/psp" >"$WORK/psp.log" 2>&1 &
PSP_PID=$!
# shellcheck disable=SC2086
"$BIN/paycore" serve ${SERVE_ARGS:-} >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
sleep 4
"$BIN/paycore" bench payments --requests 200 --concurrency 8 >"$WORK/warmup.log" 2>&1 \
    || { cat "$WORK/warmup.log"; tail -30 "$WORK/serve.log"; exit 1; }

LOG=/var/log/postgresql/postgresql-15-main.log
LOG_START=0
if [ -n "${LOG_STATEMENTS:-}" ]; then LOG_START=$(stat -c %s "$LOG"); fi
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
SERVE_0=$(cpu_ticks "$SERVE_PID") PSP_0=$(cpu_ticks "$PSP_PID") PG_0=$(backend_ticks)
"$BIN/paycore" bench payments "$@" | tee "$WORK/report.txt"
SERVE_1=$(cpu_ticks "$SERVE_PID") PSP_1=$(cpu_ticks "$PSP_PID") PG_1=$(backend_ticks)
if [ -n "${LOG_STATEMENTS:-}" ]; then tail -c +$((LOG_START + 1)) "$LOG" >"$LOG_STATEMENTS"; fi
CALLS=$(grep -oE "requests +[0-9]+" "$WORK/report.txt" | grep -oE "[0-9]+$")
awk -v s=$((SERVE_1 - SERVE_0)) -v p=$((PSP_1 - PSP_0)) -v g=$((PG_1 - PG_0)) -v n="$CALLS" \
    -v t="$(getconf CLK_TCK)" -v l0="$LOAD_BEFORE" -v l1="$(cut -d' ' -f1 /proc/loadavg)" \
    'BEGIN { printf "  CPU per payment  serve %.2f ms, psp %.2f ms, postgres %.2f ms (load %s -> %s)\n",
             s / t / n * 1000, p / t / n * 1000, g / t / n * 1000, l0, l1 }'
