-- wrk script: one GraphQL request from the environment, with the caller's token.
--   IRIS_TOKEN=<token> IRIS_QUERY='{ suppliers { totalCount } }' wrk -t1 -c1 -d20s -s bench/graphql.lua --latency http://127.0.0.1:8080/graphql
-- IRIS_BODY (a whole JSON request body) wins over IRIS_QUERY.
local function escape(text)
  return (text:gsub('\\', '\\\\'):gsub('"', '\\"'))
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if os.getenv("IRIS_TOKEN") then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("IRIS_TOKEN")
end
wrk.body = os.getenv("IRIS_BODY") or ('{"query":"' .. escape(os.getenv("IRIS_QUERY") or "{ __typename }") .. '"}')

-- Each thread counts its answers with errors; done() sums them.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  failures = 0
end

function response(status, headers, body)
  if status ~= 200 or body:find('"errors"', 1, true) then
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do
    failed = failed + (thread:get("failures") or 0)
  end
  io.write(string.format("p50 %.2f ms, p99 %.2f ms, %.1f requests/s, %d failed (non-200 or errors), %d timed out\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6), failed, summary.errors.timeout))
end
