-- wrk script: the README's GraphQL query against a running Iris.
--   wrk -t2 -c32 -d20s -s bench/suppliers.lua --latency http://127.0.0.1:8080/graphql
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"query Suppliers { suppliers(first: 5) { totalCount edges { node { name city minimumOrderValue { amount currency } } } } }","operationName":"Suppliers"}'
