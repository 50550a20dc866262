-- wrk script: placeOrder, one new order per request (no idempotency key).
--   IRIS_TOKEN=<token> IRIS_ORDER_INPUT='<PlaceOrderInput JSON>' wrk -t2 -c16 -d20s -s bench/place_order.lua --latency http://127.0.0.1:8080/graphql
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("IRIS_TOKEN") or "")
wrk.body = '{"query":"mutation PlaceOrder($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id total { amount } } } }","operationName":"PlaceOrder","variables":{"input":'
  .. (os.getenv("IRIS_ORDER_INPUT") or "{}") .. '}}'

function done(summary, latency, requests)
  io.write(string.format("p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, %.1f requests/s, %d non-2xx, %d timed out\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6), summary.errors.status, summary.errors.timeout))
end
