#!/usr/bin/env bash
# Iris beside PostGraphile 4 on the same Postgres database and the same nested read, then the
# same read on Iris over SQLite, and deep pagination (page 1 vs page 200) on both backends.
#
#   bench/side-by-side.sh [orders=12000] [seconds=10] [runs=3] [connections=20]
#   (BENCH_REUSE_DATABASE=1 keeps the Postgres database of a previous run)
#
# Needs: a release build (`cargo build --release`), Postgres (BENCH_PG_URL, default
# postgres://postgres@127.0.0.1:5432/postgres, trust auth), Node.js with npm. PostGraphile 4 and
# autocannon are installed once into $IRIS_BENCH_TOOLS (default ~/.cache/iris-bench).
set -euo pipefail
ORDERS=${1:-12000}
SECONDS_PER_RUN=${2:-10}
RUNS=${3:-3}
CONNECTIONS=${4:-20}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
IRIS=${IRIS_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/iris}
PG_ADMIN=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PG_DB=iris_bench_side
# Both servers talk to the local Postgres without TLS (PostGraphile's default; sqlx would
# otherwise negotiate TLS with a server that offers it, and pay for it on every statement).
PG_URL="${PG_ADMIN%/*}/$PG_DB?sslmode=disable"
SQLITE_FILE=$(mktemp -d)/iris-bench.db
TOOLS=${IRIS_BENCH_TOOLS:-$HOME/.cache/iris-bench}
IRIS_PORT=18180
PGQL_PORT=18181
. "$HERE/lib.sh"

[ -x "$IRIS" ] || { echo "build first: cargo build --release ($IRIS missing)" >&2; exit 1; }
if [ ! -x "$TOOLS/node_modules/.bin/postgraphile" ] || [ ! -x "$TOOLS/node_modules/.bin/autocannon" ]; then
  mkdir -p "$TOOLS"
  (cd "$TOOLS" && npm init -y >/dev/null && npm install --no-audit --no-fund postgraphile@4 autocannon@7 >/dev/null)
fi
AUTOCANNON="$TOOLS/node_modules/.bin/autocannon"

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_for() { # url
  for _ in $(seq 1 120); do curl -sf -o /dev/null "$1" && return 0; sleep 0.5; done
  echo "not answering: $1" >&2; exit 1
}

start_iris() { # database url
  DATABASE_URL="$1" PORT=$IRIS_PORT HOST=127.0.0.1 SEED_ON_START=true SCHEDULER_ENABLED=false \
    API_RATE_LIMIT=100000000 RUST_LOG=warn DATABASE_MAX_CONNECTIONS=20 \
    "$IRIS" serve > /tmp/iris-bench-side.log 2>&1 &
  IRIS_PID=$!
  PIDS+=("$IRIS_PID")
  wait_for "http://127.0.0.1:$IRIS_PORT/readyz"
}

stop_iris() { kill "$IRIS_PID"; wait "$IRIS_PID" 2>/dev/null || true; }

# Grows the database to $ORDERS orders of 3 lines each through placeOrder (REST), with three
# products that have stock for every order.
grow() {
  BASE="http://127.0.0.1:$IRIS_PORT"
  bench_setup
  local products
  products=$(curl -sf -X PUT "$BASE/api/v1/suppliers/$SUPPLIER/products" "${AUTH[@]}" -d '{"products":[
    {"sku":"SIDE-1","name":"Vetemjöl 25 kg","category":"Torrvaror","unit":"CASE","unitPrice":"400","stockOnHand":100000000},
    {"sku":"SIDE-2","name":"Smör 10 kg","category":"Mejeri","unit":"CASE","unitPrice":"900","stockOnHand":100000000},
    {"sku":"SIDE-3","name":"Rapsolja 10 l","category":"Torrvaror","unit":"PIECE","unitPrice":"350","stockOnHand":100000000}]}')
  local p1 p2 p3
  p1=$(echo "$products" | json 'd["data"][0]["id"]')
  p2=$(echo "$products" | json 'd["data"][1]["id"]')
  p3=$(echo "$products" | json 'd["data"][2]["id"]')
  local have
  have=$(curl -sf "$BASE/api/v1/orders?limit=1" "${AUTH[@]}" | json 'd["pagination"]["total"]')
  local missing=$((ORDERS - have))
  if [ "$missing" -gt 0 ]; then
    local body="{\"restaurantId\":\"$RESTAURANT\",\"supplierId\":\"$SUPPLIER\",\"requestedDeliveryDate\":\"$DATE\",\"lines\":[{\"productId\":\"$p1\",\"quantity\":2},{\"productId\":\"$p2\",\"quantity\":1},{\"productId\":\"$p3\",\"quantity\":3}]}"
    "$AUTOCANNON" -c 20 -a "$missing" -m POST -H "content-type=application/json" \
      -H "authorization=Bearer $TOKEN" -b "$body" "$BASE/api/v1/orders" > /dev/null 2>&1
  fi
  have=$(curl -sf "$BASE/api/v1/orders?limit=1" "${AUTH[@]}" | json 'd["pagination"]["total"]')
  echo "orders in the database: $have"
}

IRIS_QUERY='{ orders(first: 50) { edges { node { status lines { quantity product { name supplier { name } } } } } } }'
PGQL_QUERY='{ allOrders(first: 50, orderBy: CREATED_AT_DESC) { nodes { status orderLinesByOrderId { nodes { quantity productByProductId { name supplierBySupplierId { name } } } } } } }'
body_of() { python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$1"; }

check() { # name url auth-header query
  local answer
  answer=$(curl -sf "$2" -H 'content-type: application/json' ${3:+-H "$3"} -d "$(body_of "$4")")
  echo "$answer" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert not d.get("errors"), d["errors"]
root = next(iter(d["data"].values()))
rows = root.get("edges") or root.get("nodes")
assert len(rows) == 50, len(rows)
print(sys.argv[1], "answers: 50 orders, no errors")' "$1"
}

# One autocannon run; prints "req/s p50 p97.5 p99 p90" (latencies in ms; autocannon has no p95,
# which lies between p90 and p97.5).
load() { # url auth-header body
  local args=(-c "$CONNECTIONS" -d "$SECONDS_PER_RUN" -m POST -H "content-type=application/json" -b "$3" -j)
  [ -n "$2" ] && args+=(-H "$2")
  "$AUTOCANNON" "${args[@]}" "$1" 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)
bad = r["errors"] + r["non2xx"] + r["timeouts"]
assert bad == 0, f"{bad} failed requests"
l = r["latency"]
print("%.1f %s %s %s %s" % (r["requests"]["average"], l["p50"], l["p97_5"], l["p99"], l["p90"]))'
}

echo "== Postgres: $PG_URL, $ORDERS orders, $CONNECTIONS connections, ${SECONDS_PER_RUN}s per run"
if [ "${BENCH_REUSE_DATABASE:-}" != 1 ]; then
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" -c "CREATE DATABASE $PG_DB"
fi
start_iris "$PG_URL"
grow
# Growing updated the bench products' stock 12,000 times: vacuum the dead row versions and
# refresh the planner's statistics, as autovacuum would on a live system.
psql "$PG_URL" -qc "VACUUM ANALYZE"
IRIS_AUTH="authorization=Bearer $TOKEN"
"$TOOLS/node_modules/.bin/postgraphile" -c "$PG_URL" --host 127.0.0.1 --port $PGQL_PORT \
  --disable-default-mutations --disable-query-log > /tmp/postgraphile-bench.log 2>&1 &
PIDS+=("$!")
wait_for "http://127.0.0.1:$PGQL_PORT/graphiql"
check iris "http://127.0.0.1:$IRIS_PORT/graphql" "authorization: Bearer $TOKEN" "$IRIS_QUERY"
check postgraphile "http://127.0.0.1:$PGQL_PORT/graphql" "" "$PGQL_QUERY"
IRIS_BODY=$(body_of "$IRIS_QUERY")
PGQL_BODY=$(body_of "$PGQL_QUERY")
# Warm both (connection pools, plan caches).
load "http://127.0.0.1:$IRIS_PORT/graphql" "$IRIS_AUTH" "$IRIS_BODY" > /dev/null
load "http://127.0.0.1:$PGQL_PORT/graphql" "" "$PGQL_BODY" > /dev/null
printf '%-4s %-13s %9s %8s %8s %8s %8s\n' run server 'req/s' p50 p90 p97.5 p99
for run in $(seq 1 "$RUNS"); do
  read -r i_rps i_50 i_975 i_99 i_90 < <(load "http://127.0.0.1:$IRIS_PORT/graphql" "$IRIS_AUTH" "$IRIS_BODY")
  read -r p_rps p_50 p_975 p_99 p_90 < <(load "http://127.0.0.1:$PGQL_PORT/graphql" "" "$PGQL_BODY")
  printf '%-4s %-13s %9s %8s %8s %8s %8s\n' "$run" iris "$i_rps" "$i_50" "$i_90" "$i_975" "$i_99"
  printf '%-4s %-13s %9s %8s %8s %8s %8s\n' "$run" postgraphile "$p_rps" "$p_50" "$p_90" "$p_975" "$p_99"
  python3 -c 'import sys; print(f"     ratio iris/postgraphile: {float(sys.argv[1]) / float(sys.argv[2]):.2f}x")' "$i_rps" "$p_rps"
done

# Deep pagination: page 1 against page 200 of orders(first: 50, after: …).
deep() {
  local base="http://127.0.0.1:$IRIS_PORT/graphql" after="" page
  local query='query($after: String) { orders(first: 50, after: $after) { edges { node { id status } } pageInfo { endCursor } } }'
  for page in $(seq 1 199); do
    after=$(curl -sf "$base" -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \
      -d "$(python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1], "variables": {"after": sys.argv[2] or None}}))' "$query" "$after")" \
      | json 'd["data"]["orders"]["pageInfo"]["endCursor"]')
  done
  local first last
  first=$(python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$query")
  last=$(python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1], "variables": {"after": sys.argv[2]}}))' "$query" "$after")
  read -r r1 p1 _ _ _ < <(load "$base" "$IRIS_AUTH" "$first")
  read -r r200 p200 _ _ _ < <(load "$base" "$IRIS_AUTH" "$last")
  echo "deep pagination ($1): page 1 p50 ${p1} ms (${r1} req/s), page 200 p50 ${p200} ms (${r200} req/s)"
}
deep postgres
stop_iris

echo "== SQLite: $SQLITE_FILE, the same query on Iris"
start_iris "sqlite://$SQLITE_FILE?mode=rwc"
grow
IRIS_AUTH="authorization=Bearer $TOKEN"
check iris "http://127.0.0.1:$IRIS_PORT/graphql" "authorization: Bearer $TOKEN" "$IRIS_QUERY"
load "http://127.0.0.1:$IRIS_PORT/graphql" "$IRIS_AUTH" "$IRIS_BODY" > /dev/null
printf '%-4s %-13s %9s %8s %8s %8s %8s\n' run server 'req/s' p50 p90 p97.5 p99
for run in $(seq 1 "$RUNS"); do
  read -r i_rps i_50 i_975 i_99 i_90 < <(load "http://127.0.0.1:$IRIS_PORT/graphql" "$IRIS_AUTH" "$IRIS_BODY")
  printf '%-4s %-13s %9s %8s %8s %8s %8s\n' "$run" iris-sqlite "$i_rps" "$i_50" "$i_90" "$i_975" "$i_99"
done
deep sqlite
stop_iris
