-- wrk script: the nested orders query (50 orders with restaurant, supplier, lines, products).
--   IRIS_TOKEN=<access token> wrk -t2 -c16 -d20s -s bench/orders.lua --latency http://127.0.0.1:8080/graphql
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("IRIS_TOKEN") or "")
wrk.body = '{"query":"query NestedOrders { orders(first: 50) { edges { node { restaurant { name } supplier { name } lines { product { name supplier { name } } } } } } }","operationName":"NestedOrders"}'

function done(summary, latency, requests)
  io.write(string.format("p50 %.2f ms, p95 %.2f ms, p99 %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
