#!/usr/bin/env bash
# Prepares a running Iris (with the demo data and demo users) for the ordering benchmarks and
# runs them: the nested orders query over 50 orders, then placeOrder throughput.
#   bench/ordering.sh http://127.0.0.1:8080 [duration]
set -euo pipefail
BASE=${1:-http://127.0.0.1:8080}
DURATION=${2:-20s}
. "$(dirname "$0")/lib.sh"
bench_setup
# A product priced above every minimum order value, with stock for any run.
PRODUCT=$(curl -sf -X PUT "$BASE/api/v1/suppliers/$SUPPLIER/products" "${AUTH[@]}" \
  -d '{"products":[{"sku":"BENCH-1","name":"Benchmarkvara","category":"Bench","unit":"CASE","unitPrice":"2500","stockOnHand":100000000}]}' \
  | json 'd["data"][0]["id"]')
INPUT="{\"restaurantId\":\"$RESTAURANT\",\"supplierId\":\"$SUPPLIER\",\"lines\":[{\"productId\":\"$PRODUCT\",\"quantity\":1}],\"requestedDeliveryDate\":\"$DATE\"}"
# At least 50 orders for the nested query.
for _ in $(seq 1 50); do
  curl -sf "$BASE/api/v1/orders" "${AUTH[@]}" -d "$INPUT" > /dev/null
done
export IRIS_TOKEN=$TOKEN IRIS_ORDER_INPUT=$INPUT
HERE=$(dirname "$0")
echo "== nested orders query, 50 orders"
wrk -t2 -c16 -d"$DURATION" -s "$HERE/orders.lua" --latency "$BASE/graphql"
count() { curl -sf "$BASE/api/v1/orders?limit=1" "${AUTH[@]}" | json 'd["pagination"]["total"]'; }
BEFORE=$(count)
echo "== placeOrder"
wrk -t2 -c16 -d"$DURATION" -s "$HERE/place_order.lua" --latency "$BASE/graphql"
echo "orders placed during the run: $(( $(count) - BEFORE ))"
