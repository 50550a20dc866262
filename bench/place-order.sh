#!/usr/bin/env bash
# placeOrder throughput on a fresh Postgres database with Redis, and the books afterwards:
# requests acknowledged = orders stored, and stock taken = units ordered.
#   bench/place-order.sh [seconds=10] [connections=32]
# Needs a release build, Postgres (BENCH_PG_URL) and Redis (BENCH_REDIS_URL); autocannon is
# installed once into $IRIS_BENCH_TOOLS.
set -euo pipefail
SECONDS_PER_RUN=${1:-10}
CONNECTIONS=${2:-32}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
IRIS=${IRIS_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/iris}
PG_ADMIN=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS=${BENCH_REDIS_URL:-redis://127.0.0.1:6379}
PG_DB=iris_bench_place
TOOLS=${IRIS_BENCH_TOOLS:-$HOME/.cache/iris-bench}
PORT=18195
BASE=http://127.0.0.1:$PORT
. "$HERE/lib.sh"
[ -x "$IRIS" ] || { echo "build first: cargo build --release ($IRIS missing)" >&2; exit 1; }
if [ ! -x "$TOOLS/node_modules/.bin/autocannon" ]; then
  mkdir -p "$TOOLS" && (cd "$TOOLS" && npm init -y >/dev/null && npm install --no-audit --no-fund autocannon@7 >/dev/null)
fi

psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" -c "CREATE DATABASE $PG_DB"
DATABASE_URL="${PG_ADMIN%/*}/$PG_DB" REDIS_URL=$REDIS REDIS_PREFIX="bench-place-$$" PORT=$PORT \
  HOST=127.0.0.1 SCHEDULER_ENABLED=false API_RATE_LIMIT=100000000 RUST_LOG=warn \
  DATABASE_MAX_CONNECTIONS=32 "$IRIS" serve > /tmp/iris-bench-place.log 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
until curl -sf -o /dev/null "$BASE/readyz"; do sleep 0.2; done
bench_setup
STOCK=100000000
products=$(curl -sf -X PUT "$BASE/api/v1/suppliers/$SUPPLIER/products" "${AUTH[@]}" -d "{\"products\":[
  {\"sku\":\"PLACE-1\",\"name\":\"Vetemjöl 25 kg\",\"category\":\"Torrvaror\",\"unit\":\"CASE\",\"unitPrice\":\"400\",\"stockOnHand\":$STOCK},
  {\"sku\":\"PLACE-2\",\"name\":\"Smör 10 kg\",\"category\":\"Mejeri\",\"unit\":\"CASE\",\"unitPrice\":\"900\",\"stockOnHand\":$STOCK},
  {\"sku\":\"PLACE-3\",\"name\":\"Rapsolja 10 l\",\"category\":\"Torrvaror\",\"unit\":\"PIECE\",\"unitPrice\":\"350\",\"stockOnHand\":$STOCK}]}")
P1=$(echo "$products" | json 'd["data"][0]["id"]')
P2=$(echo "$products" | json 'd["data"][1]["id"]')
P3=$(echo "$products" | json 'd["data"][2]["id"]')
BODY=$(python3 - "$RESTAURANT" "$SUPPLIER" "$DATE" "$P1" "$P2" "$P3" <<'PY'
import json, sys
r, s, d, p1, p2, p3 = sys.argv[1:]
print(json.dumps({
  "query": "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id status total { amount } } } }",
  "variables": {"input": {"restaurantId": r, "supplierId": s, "requestedDeliveryDate": d,
    "lines": [{"productId": p1, "quantity": 2}, {"productId": p2, "quantity": 1}, {"productId": p3, "quantity": 3}]}}}))
PY
)
total() { curl -sf "$BASE/api/v1/orders?limit=1" "${AUTH[@]}" | json 'd["pagination"]["total"]'; }
stock() { curl -sf "$BASE/api/v1/products/$1" "${AUTH[@]}" | json 'd["data"]["stockOnHand"]'; }
BEFORE=$(total)
echo "== placeOrder (GraphQL, 3 lines) on Postgres + Redis: $CONNECTIONS connections, ${SECONDS_PER_RUN}s"
"$TOOLS/node_modules/.bin/autocannon" -c "$CONNECTIONS" -d "$SECONDS_PER_RUN" -m POST \
  -H "content-type=application/json" -H "authorization=Bearer $TOKEN" -b "$BODY" -j "$BASE/graphql" \
  2>/dev/null > /tmp/place-order.json
AFTER=$(total)
python3 - /tmp/place-order.json "$((AFTER - BEFORE))" "$STOCK" "$(stock "$P1")" "$(stock "$P2")" "$(stock "$P3")" "$CONNECTIONS" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
stored, stock = int(sys.argv[2]), int(sys.argv[3])
left = [int(x) for x in sys.argv[4:7]]
connections = int(sys.argv[7])
ok = r["2xx"]
l = r["latency"]
print(f"orders/s {r['requests']['average']:.0f}  p50 {l['p50']} ms  p97.5 {l['p97_5']} ms  p99 {l['p99']} ms")
print(f"acknowledged {ok}, stored {stored} (the load tool stops mid-flight: up to {connections} requests answered after it stopped counting), other responses {r['non2xx'] + r['errors'] + r['timeouts']}")
taken = [stock - x for x in left]
print(f"stock taken {taken}, expected {[2 * stored, stored, 3 * stored]}")
assert ok <= stored <= ok + connections, "acknowledged and stored differ"
assert taken == [2 * stored, stored, 3 * stored], "stock arithmetic is off"
PY
