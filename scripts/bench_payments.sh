#!/usr/bin/env bash
# The payments benchmark, self-contained: two scratch databases (shards) on the local
# PostgreSQL, `paycore psp` (no latency) and `paycore serve` on free ports, a 200-payment
# warm-up, then `paycore bench payments` with the given options. Every run prints, beside
# payments/s and latency percentiles, the CPU milliseconds per confirmed payment of the server
# (its workers included), the PostgreSQL backends of the scratch databases, the simulator and
# the load generator (from /proc, so PostgreSQL must run on this machine), pgbench's TPC-B
# right before and right after on the same server, and the load average; it drops the
# databases at the end. On a shared machine rates move with the other work; CPU per payment
# much less, so compare variants by it (docs/benchmarks.md, "Payments benchmark").
#
#   scripts/bench_payments.sh --duration 10 --concurrency 8
#   scripts/bench_payments.sh --duration 10 --rate 100 --concurrency 64          # open loop
#   scripts/bench_payments.sh --duration 10 --concurrency 32 --connections 8 --ghz ../shared/tools/ghz
#   scripts/bench_payments.sh --targets [SECONDS]   # every figure of issue 17's targets, below
#
# --targets runs, each for SECONDS (default 15), with pgbench before and after each: the Python
# client at 8 in flight (it checks that every intent ends `succeeded`); ghz, closed loop of 32
# in flight over 8 connections; ghz, open loop at 400/s (64 workers, 8 connections); then
# `serve --workers 2` and the same closed loop; and a summary of the four, with the ceiling of
# more workers on this machine (its cores over the cores the one-worker closed loop kept busy).
#
# PAYCORE_BENCH_PG (default postgresql://postgres@127.0.0.1:5432) is a server the bench may
# create databases on; PAYCORE_REDIS_URL defaults to redis://127.0.0.1:6379/0 (the bench's keys
# get a prefix of their own); PAYCORE_DB_POOL_SIZE defaults to 30 here. SERVE_ARGS passes
# options to `paycore serve` (e.g. --workers 2); SERVE_COMMAND replaces `.venv/bin/paycore serve`
# (a profiler's wrapper, say). ghz: $PAYCORE_GHZ, `ghz` on PATH, or
# ../shared/tools/ghz. LOG_STATEMENTS=FILE turns on log_statement=all for the scratch databases
# and copies what the run logged to FILE (/var/log/postgresql/postgresql-15-main.log, readable
# on this machine) to count statements. PROFILE=FILE records the server with py-spy during the
# run (raw collapsed stacks, --gil: only samples holding the GIL, i.e. Python's CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG=${PAYCORE_BENCH_PG:-postgresql://postgres@127.0.0.1:5432}
WORK=$(mktemp -d)
TAG=bench_payments_$$
free_port() { "$BIN/python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
GHZ=${PAYCORE_GHZ:-$(command -v ghz || echo ../shared/tools/ghz)}
[ -x "$GHZ" ] || GHZ=$(realpath ../../shared/tools/ghz 2>/dev/null || echo "")

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
# Per process: `--targets` gives each of its two workers half (PostgreSQL's max_connections,
# 100 here, is shared with everything else on the server).
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
start_serve() {
    # shellcheck disable=SC2086
    ${SERVE_COMMAND:-"$BIN/paycore" serve} "$@" >"$WORK/serve.log" 2>&1 &
    SERVE_PID=$!
    # Every worker listening (one socket each under SO_REUSEPORT) before any client connects:
    # a connection made while one worker listens stays with it for the whole run.
    local workers port=${PAYCORE_GRPC_ADDR##*:} waited=0
    workers=$(echo "$*" | grep -oE -- "--workers[ =][0-9]+" | grep -oE "[0-9]+$" || echo 1)
    until [ "$(ss -Hltn "sport = :$port" | wc -l)" -ge "$workers" ]; do
        sleep 0.5
        waited=$((waited + 1))
        [ "$waited" -lt 240 ] || { echo "serve did not listen"; tail -30 "$WORK/serve.log"; exit 1; }
    done
    "$BIN/paycore" bench payments --requests 200 --concurrency 8 --timeout 60 >"$WORK/warmup.log" 2>&1 \
        || { cat "$WORK/warmup.log"; tail -30 "$WORK/serve.log"; exit 1; }
}
stop_serve() {
    kill "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
    SERVE_PID=""
}
bench() {
    local profiler=""
    if [ -n "${PROFILE:-}" ]; then
        "$BIN/py-spy" record --gil --nonblocking -r 200 -f raw -o "$PROFILE" -p "$SERVE_PID" \
            >"$WORK/py-spy.log" 2>&1 &
        profiler=$!
    fi
    "$BIN/paycore" bench payments --server-pid "$SERVE_PID" --psp-pid "$PSP_PID" --postgres \
        --pgbench "$PG/postgres" "$@"
    if [ -n "$profiler" ]; then kill -INT "$profiler"; wait "$profiler" || true; fi
}

start_serve ${SERVE_ARGS:-}
LOG=/var/log/postgresql/postgresql-15-main.log
LOG_START=0
if [ -n "${LOG_STATEMENTS:-}" ]; then LOG_START=$(stat -c %s "$LOG"); fi
if [ "${1:-}" != "--targets" ]; then
    bench "$@"
    if [ -n "${LOG_STATEMENTS:-}" ]; then tail -c +$((LOG_START + 1)) "$LOG" >"$LOG_STATEMENTS"; fi
    exit 0
fi

SECONDS_EACH=${2:-15}
[ -x "$GHZ" ] || { echo "--targets needs ghz: set PAYCORE_GHZ" >&2; exit 1; }
run() {  # TITLE, then the bench's options; keeps its JSON report
    local title=$1 name=$2
    shift 2
    echo "== $title"
    bench --duration "$SECONDS_EACH" --json "$@" >"$WORK/$name.json"
    "$BIN/python" -m paycore.tools.bench.summary "$WORK/$name.json"
}
echo "== paycore bench payments --targets, $SECONDS_EACH s each, $(date -u '+%Y-%m-%d %H:%M UTC'), $(git rev-parse --short HEAD)"
run "CPU per payment: Python client, 8 in flight, one worker" python --concurrency 8
run "closed loop: ghz, 32 in flight over 8 connections, one worker" closed1 \
    --ghz "$GHZ" --concurrency 32 --connections 8
run "open loop: ghz at 400/s (64 workers, 8 connections), one worker" open1 \
    --ghz "$GHZ" --rate 400 --concurrency 64 --connections 8
stop_serve
PAYCORE_DB_POOL_SIZE=$((PAYCORE_DB_POOL_SIZE / 2)) start_serve --workers 2
run "closed loop: ghz, 32 in flight over 8 connections, serve --workers 2" closed2 \
    --ghz "$GHZ" --concurrency 32 --connections 8
echo "== summary"
"$BIN/python" -m paycore.tools.bench.summary --targets "$WORK"/python.json "$WORK"/closed1.json \
    "$WORK"/open1.json "$WORK"/closed2.json
