#!/usr/bin/env bash
# Iris under its worst allowed request and through a Redis outage, on Postgres + Redis.
#   bench/resilience.sh [BINARY] [PORT]      (BINARY defaults to target/release/iris)
# Starts the binary on a fresh database (demo data plus 5,000 products), then measures
#  1. a small query from one client, alone and while another client loops the most expensive
#     query the limits allow (and, for comparison, the amplification query of issue 9),
#     with the server's RSS before, during and 60 s after the loop;
#  2. reads and placeOrder throughput during a 10 s Redis stall (CLIENT PAUSE ALL) as a share of
#     normal.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-${CARGO_TARGET_DIR:-$HERE/../target}/release/iris}
PORT=${2:-18080}
BASE=http://127.0.0.1:$PORT
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
REDIS=${BENCH_REDIS:-redis://127.0.0.1:6379}
DB=iris_bench_$PORT
. "$HERE/lib.sh"
rss() { awk '/VmRSS/ {printf "%.0f MB", $2/1024}' "/proc/$PID/status"; }

psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
DATABASE_URL="$PG/$DB" REDIS_URL=$REDIS REDIS_PREFIX=bench-$PORT PORT=$PORT SEED_ON_START=true \
  API_RATE_LIMIT=100000000 RUST_LOG=warn LOG_FORMAT=json SCHEDULER_ENABLED=false \
  "$BIN" serve > "/tmp/iris-bench-$PORT.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT
for _ in $(seq 1 120); do curl -sf "$BASE/healthz" > /dev/null && break; sleep 0.5; done

bench_setup
# 5,000 more products, 1,000 per batch, as in the outside test.
for batch in 0 1 2 3 4; do
  python3 - "$batch" > /tmp/iris-bench-products.json <<'PY'
import json, sys
b = int(sys.argv[1])
names = ["Lax", "Torsk", "Potatis", "Grädde", "Smör", "Mjöl", "Lök", "Äpple"]
print(json.dumps({"products": [{"sku": f"B{b}-{i:04d}", "name": f"{names[i % 8]} {b}{i:04d}",
  "category": "Bench", "unit": "KG", "unitPrice": "12.5", "stockOnHand": 100000000}
  for i in range(1000)]}))
PY
  curl -sf -X PUT "$BASE/api/v1/suppliers/$SUPPLIER/products" "${AUTH[@]}" \
    --data-binary @/tmp/iris-bench-products.json > /dev/null
done
PRODUCT=$(curl -sf "$BASE/api/v1/products?q=B0-0001&limit=1" "${AUTH[@]}" | json 'd["data"][0]["id"]')
export IRIS_TOKEN=$TOKEN
SMALL='{ suppliers { totalCount } }'
# The most expensive query the default limits allow (GRAPHQL_MAX_COST 50,000): five aliases
# of 100 products, each with its supplier's first 20 products — 10,000 product rows, cost
# 42,500 (the server reports it below).
HEAVY=$(python3 -c 'print("{ " + " ".join("a%d: products(first: 100) { nodes { name sku supplier { name products(first: 20) { name sku unitPrice { amount } } } } }" % i for i in range(5)) + " }")')
AMPLIFY='{ products(first:100) { nodes { supplier { products(first:50) { supplier { products(first:50) { name sku } } } } } } }'
post() { curl -s "$BASE/graphql" "${AUTH[@]}" -d "$(python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$1")"; }
echo "== heavy query: $(post "$HEAVY" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("cost", d.get("extensions",{}).get("cost"), "errors", [e["message"][:80] for e in d.get("errors",[])], "bytes", len(json.dumps(d)))')"
echo "== amplification query: $(post "$AMPLIFY" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("errors", [e["message"][:80] for e in d.get("errors",[])], "bytes", len(json.dumps(d)))')"

echo "RSS at start: $(rss)"
echo "== small query alone (1 client, 15 s)"
IRIS_QUERY=$SMALL wrk -t1 -c1 -d15s -s "$HERE/graphql.lua" "$BASE/graphql" | tail -1
for name in HEAVY AMPLIFY; do
  echo "== small query while another client loops the $name query (15 s)"
  IRIS_QUERY=${!name} wrk -t1 -c1 -d17s -s "$HERE/graphql.lua" "$BASE/graphql" > "/tmp/iris-bench-$name.txt" &
  LOOP=$!
  sleep 1
  IRIS_QUERY=$SMALL wrk -t1 -c1 -d15s -s "$HERE/graphql.lua" "$BASE/graphql" | tail -1
  echo "RSS during the loop: $(rss)"
  wait $LOOP
  echo "   the looping client: $(tail -1 "/tmp/iris-bench-$name.txt")"
  sleep 60
  echo "RSS 60 s after the loop: $(rss)"
done

INPUT="{\"restaurantId\":\"$RESTAURANT\",\"supplierId\":\"$SUPPLIER\",\"lines\":[{\"productId\":\"$PRODUCT\",\"quantity\":1}],\"requestedDeliveryDate\":\"$DATE\"}"
export IRIS_ORDER_INPUT=$INPUT
READ='{ suppliers(first: 5) { totalCount edges { node { name city minimumOrderValue { amount currency } } } } }'
for phase in normal outage; do
  if [ "$phase" = outage ]; then
    redis-cli -u "$REDIS" CLIENT PAUSE 10000 ALL > /dev/null
  fi
  echo "== $phase: reads, 8 connections, 10 s"
  IRIS_QUERY=$READ wrk -t2 -c8 -d10s -s "$HERE/graphql.lua" "$BASE/graphql" | tail -1
done
sleep 5
for phase in normal outage; do
  if [ "$phase" = outage ]; then
    redis-cli -u "$REDIS" CLIENT PAUSE 10000 ALL > /dev/null
  fi
  echo "== $phase: placeOrder, 8 connections, 10 s"
  wrk -t2 -c8 -d10s -s "$HERE/place_order.lua" "$BASE/graphql" | tail -1
done
echo "readyz after: $(curl -s "$BASE/readyz")"
