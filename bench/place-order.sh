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
# Without TLS to the local Postgres (sqlx would otherwise negotiate it on every connection).
DATABASE_URL="${PG_ADMIN%/*}/$PG_DB?sslmode=disable" REDIS_URL=$REDIS REDIS_PREFIX="bench-place-$$" PORT=$PORT \
  HOST=127.0.0.1 SCHEDULER_ENABLED=false API_RATE_LIMIT=100000000 RUST_LOG=warn \
  DATABASE_MAX_CONNECTIONS=${BENCH_DB_CONNECTIONS:-32} "$IRIS" serve > /tmp/iris-bench-place.log 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
until curl -sf -o /dev/null "$BASE/readyz"; do sleep 0.2; done
bench_setup
STOCK=100000000
PRODUCTS=${BENCH_PRODUCTS:-200}
# A catalog of $PRODUCTS products with stock for any run; each order takes 3 of them at random.
catalog=$(python3 - "$PRODUCTS" "$STOCK" <<'PY'
import json, sys
n, stock = int(sys.argv[1]), int(sys.argv[2])
print(json.dumps({"products": [
  {"sku": f"PLACE-{i}", "name": f"Varukorg {i}", "category": "Bench", "unit": "CASE",
   "unitPrice": "400", "stockOnHand": stock} for i in range(n)]}))
PY
)
IDS=$(curl -sf -X PUT "$BASE/api/v1/suppliers/$SUPPLIER/products" "${AUTH[@]}" -d "$catalog" \
  | json 'json.dumps([p["id"] for p in d["data"]])')
TEMPLATE="{\"restaurantId\":\"$RESTAURANT\",\"supplierId\":\"$SUPPLIER\",\"requestedDeliveryDate\":\"$DATE\"}"
DB_URL="${PG_ADMIN%/*}/$PG_DB?sslmode=disable"
count() { psql "$DB_URL" -Atc "SELECT count(*) FROM orders"; }
BEFORE=$(count)
echo "== placeOrder (GraphQL, 3 of $PRODUCTS products) on Postgres + Redis: $CONNECTIONS connections, ${SECONDS_PER_RUN}s"
IRIS_BENCH_TOOLS=$TOOLS node "$HERE/place-order.mjs" "$BASE" "$TOKEN" "$TEMPLATE" "$IDS" \
  "$SECONDS_PER_RUN" "$CONNECTIONS" > /tmp/place-order.json
AFTER=$(count)
# Stock taken per product against the units of the stored orders' lines, from the database.
psql "$DB_URL" -Atc "SELECT p.sku, $STOCK - p.stock_on_hand, COALESCE(SUM(l.quantity), 0)
  FROM products p LEFT JOIN order_lines l ON l.product_id = p.id
  WHERE p.sku LIKE 'PLACE-%' GROUP BY p.sku, p.stock_on_hand" > /tmp/place-order-stock.txt
python3 - /tmp/place-order.json "$((AFTER - BEFORE))" "$CONNECTIONS" /tmp/place-order-stock.txt <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
stored, connections = int(sys.argv[2]), int(sys.argv[3])
failed = r["orderedUnits"].pop("__failed", 0)
ok = r["2xx"] - failed
l = r["latency"]
print(f"orders/s {ok / r['duration']:.0f}  p50 {l['p50']} ms  p97.5 {l['p97_5']} ms  p99 {l['p99']} ms")
print(f"acknowledged {ok}, stored {stored} (up to {connections} answered after the load tool stopped counting), failed {failed + r['non2xx'] + r['errors'] + r['timeouts']}")
rows = [line.split("|") for line in open(sys.argv[4]).read().split()]
wrong = [row for row in rows if int(row[1]) != int(row[2])]
print(f"stock: {len(rows)} products, units taken = units in stored orders for {len(rows) - len(wrong)}")
assert failed == 0 and r["non2xx"] == 0, "some orders failed"
assert ok <= stored <= ok + connections, "acknowledged and stored differ"
assert not wrong, f"stock arithmetic is off: {wrong[:3]}"
PY
