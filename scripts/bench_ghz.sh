#!/usr/bin/env bash
# ghz beside `paycore bench`, in one run: pgbench's TPC-B (-c16, 10 s) on the same PostgreSQL,
# then, against one `paycore serve` (scratch shards, `paycore psp` without latency, rate limits
# off), for health, GetMerchant and CreatePaymentIntent with confirm: `paycore bench` and the
# README's ghz line, each for DURATION seconds (default 10); then every deploy/ghz config as
# written (rendered with envsubst). The README's Benchmarks section quotes its output.
#
#   scripts/bench_ghz.sh [DURATION]
#
# ghz: $PAYCORE_GHZ, `ghz` on PATH, or ../shared/tools/ghz (the machine's v0.114.0).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
DURATION=${1:-10}
GHZ=${PAYCORE_GHZ:-$(command -v ghz || echo ../shared/tools/ghz)}
[ -x "$GHZ" ] || GHZ=$(realpath ../../shared/tools/ghz 2>/dev/null || true)
[ -x "$GHZ" ] || { echo "no ghz: set PAYCORE_GHZ" >&2; exit 1; }
PG=${PAYCORE_BENCH_PG:-postgresql://postgres@127.0.0.1:5432}
WORK=$(mktemp -d)
TAG=bench_ghz_$$
free_port() { "$BIN/python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }

export PAYCORE_DATABASE_URLS="$PG/${TAG}_0,$PG/${TAG}_1"
export PAYCORE_REDIS_URL=${PAYCORE_REDIS_URL:-redis://127.0.0.1:6379/0}
export PAYCORE_REDIS_PREFIX="$TAG:"
export PAYCORE_ADMIN_TOKEN=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))')
export PAYCORE_KEY_HASH_SECRET=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))')
export PAYCORE_VAULT_KEY=$("$BIN/python" -c 'from paycore.customer.vault import new_vault_key; print(new_vault_key())')
export PAYCORE_CARD_FINGERPRINT_KEY=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))')
export PAYCORE_RATE_LIMITS="payments=0,subscriptions=0,other=0"
export PAYCORE_GRPC_ADDR=127.0.0.1:$(free_port)
export PAYCORE_METRICS_ADDR=127.0.0.1:$(free_port)
PSP_ADDR=127.0.0.1:$(free_port)
export PAYCORE_PSP_URL=http://$PSP_ADDR
export PAYCORE_LOG_LEVEL=WARNING
export PAYCORE_DB_POOL_SIZE=${PAYCORE_DB_POOL_SIZE:-30}

PSP_PID="" SERVE_PID=""
cleanup() {
    for pid in $SERVE_PID $PSP_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    for database in "${TAG}_0" "${TAG}_1" "${TAG}_pgbench"; do
        psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)"
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

for database in "${TAG}_0" "${TAG}_1" "${TAG}_pgbench"; do
    psql -q "$PG/postgres" -c "CREATE DATABASE $database"
done
echo "== pgbench TPC-B, 16 clients, 10 s (load $(cut -d' ' -f1 /proc/loadavg))"
pgbench -i -q "$PG/${TAG}_pgbench" >/dev/null 2>&1
pgbench -c 16 -j 2 -T 10 "$PG/${TAG}_pgbench" 2>/dev/null | grep -E "^tps"

"$BIN/paycore" migrate >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log"; exit 1; }
"$BIN/paycore" psp --addr "$PSP_ADDR" --data-dir "$WORK/psp" >"$WORK/psp.log" 2>&1 &
PSP_PID=$!
"$BIN/paycore" serve >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
# The bench merchant, its key and a card, as the README's ghz lines name them.
read -r KEY MERCHANT CARD < <("$BIN/python" - <<'PY'
import asyncio, os
from paycore.client import connect
from paycore.v1 import account_pb2, customer_pb2

async def main() -> None:
    target = os.environ["PAYCORE_GRPC_ADDR"]
    async with connect(target, os.environ["PAYCORE_ADMIN_TOKEN"]) as admin:
        merchant = await admin.accounts.CreateMerchant(account_pb2.CreateMerchantRequest(
            name="ghz bench", email="b@bench.test", country="US", default_currency="usd"),
            wait_for_ready=True, timeout=60)  # the server may take a while to start
    async with connect(target, merchant.secret_key) as client:
        card = await client.customers.CreatePaymentMethod(customer_pb2.CreatePaymentMethodRequest(
            type=customer_pb2.PAYMENT_METHOD_TYPE_CARD,
            card=customer_pb2.CreatePaymentMethodRequest.Card(
                number="4242424242424242", exp_month=12, exp_year=2040, cvc="123")))
    print(merchant.secret_key, merchant.id, card.id)

asyncio.run(main())
PY
) || { tail -20 "$WORK/serve.log"; exit 1; }
ADDR=$PAYCORE_GRPC_ADDR
cat >"$WORK/summary.py" <<'PY'
import json, sys
report = json.load(sys.stdin)
ms = {point["percentage"]: point["latency"] / 1e6 for point in report.get("latencyDistribution") or []}
codes = report["statusCodeDistribution"]
errors = report.get("errorDistribution") or {}
print(f"  ghz: {report['rps']:,.0f} requests/s, p50 {ms.get(50, 0):.1f} ms, p99 {ms.get(99, 0):.1f} ms, codes {codes}, errors {errors}")
PY
summary() { "$BIN/python" "$WORK/summary.py"; }
bench() { "$BIN/paycore" bench "$@" --duration "$DURATION" --server-pid "$SERVE_PID" | grep -E "requests/s|p50|p99|CPU|non-OK|codes" | sed 's/^/  /'; }

echo "== health (load $(cut -d' ' -f1 /proc/loadavg))"
bench health --concurrency 16 --connections 2
"$GHZ" --insecure --call grpc.health.v1.Health.Check -d '{"service": ""}' \
    -c 16 --connections 2 -z "${DURATION}s" --duration-stop wait --format json "$ADDR" | summary
echo "== GetMerchant (load $(cut -d' ' -f1 /proc/loadavg))"
bench accounts --concurrency 16 --connections 2 --api-key "$KEY" --merchant "$MERCHANT"
"$GHZ" --insecure --call paycore.v1.AccountService.GetMerchant \
    -m "{\"authorization\": \"Bearer $KEY\"}" \
    -d "{\"id\": \"$MERCHANT\"}" -c 16 --connections 2 -z "${DURATION}s" --duration-stop wait --format json "$ADDR" | summary
echo "== CreatePaymentIntent with confirm (load $(cut -d' ' -f1 /proc/loadavg))"
bench payments --concurrency 8 --connections 2 --api-key "$KEY" --merchant "$MERCHANT" --server-pid "$PSP_PID"
"$GHZ" --insecure --call paycore.v1.PaymentService.CreatePaymentIntent \
    -m "{\"authorization\": \"Bearer $KEY\", \"idempotency-key\": \"{{newUUID}}\"}" \
    -d "{\"amount\": 2000, \"currency\": \"usd\", \"payment_method\": \"$CARD\", \"confirm\": true}" \
    -c 8 --connections 2 -z "${DURATION}s" --duration-stop wait --format json "$ADDR" | summary
echo "== deploy/ghz/*.json as deploy/README.md runs them (envsubst; their own 10 s)"
export PAYCORE_BENCH_API_KEY=$KEY PAYCORE_BENCH_MERCHANT_ID=$MERCHANT PAYCORE_BENCH_PAYMENT_METHOD=$CARD
PAYCORE_GOOGLEAPIS_PROTOS=$("$BIN/python" -c 'import google.api.annotations_pb2 as m, pathlib; print(pathlib.Path(m.__file__).parents[2])')
export PAYCORE_GOOGLEAPIS_PROTOS
for config in deploy/ghz/*.json; do
    echo "$config (load $(cut -d' ' -f1 /proc/loadavg))"
    envsubst <"$config" >"$WORK/config.json"
    "$GHZ" --config "$WORK/config.json" --format json | summary
done
echo "== done (load $(cut -d' ' -f1 /proc/loadavg))"
