#!/usr/bin/env bash
# Start-up, idle memory and websocket fan-out of a release binary:
#   bench/live.sh [subscribers=10000] [database-url]
# 1. Start-up time to /readyz (a fresh database: migrations and demo data; then a restart on
#    it) and idle RSS.
# 2. N subscribers of one order's status (graphql-transport-ws), one change, delivery p50/p99/
#    max and RSS per idle subscriber (examples/ws_fanout.rs, a client in Rust, so the load
#    tool's own cost stays small beside the server's on a small machine).
# Needs a release build (`cargo build --release --bin iris --example ws_fanout`).
set -euo pipefail
SUBSCRIBERS=${1:-10000}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
IRIS=${IRIS_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/iris}
DIR=$(mktemp -d)
DATABASE=${2:-sqlite://$DIR/iris-live.db?mode=rwc}
PORT=18190
BASE=http://127.0.0.1:$PORT
. "$HERE/lib.sh"
FANOUT=$(dirname "$IRIS")/examples/ws_fanout
[ -x "$IRIS" ] && [ -x "$FANOUT" ] || {
  echo "build first: cargo build --release --bin iris --example ws_fanout" >&2; exit 1; }

PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; }
trap cleanup EXIT

start() { # sets PID and STARTUP_MS (milliseconds to /readyz)
  local t0 t1
  t0=$(date +%s%N)
  DATABASE_URL="$DATABASE" PORT=$PORT HOST=127.0.0.1 SCHEDULER_ENABLED=false \
    API_RATE_LIMIT=100000000 RUST_LOG=warn "$IRIS" serve > "$DIR/iris.log" 2>&1 &
  PID=$!
  until curl -sf -o /dev/null "$BASE/readyz"; do sleep 0.005; done
  t1=$(date +%s%N)
  STARTUP_MS=$(((t1 - t0) / 1000000))
}
rss() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$PID/status"; }

echo "== start-up ($DATABASE)"
start
echo "fresh database (migrations + demo data): $STARTUP_MS ms to /readyz"
kill "$PID"; wait "$PID" 2>/dev/null || true
start
echo "restart on it: $STARTUP_MS ms to /readyz"
sleep 2
echo "idle RSS: $(rss) MB"

echo "== websocket fan-out: $SUBSCRIBERS subscribers of one order"
bench_setup
ORDER=$(curl -sf "$BASE/api/v1/orders?status=PLACED&limit=1" "${AUTH[@]}" | json 'd["data"][0]["id"]')
IRIS_PID=$PID "$FANOUT" "$BASE" "$TOKEN" "$ORDER" "$SUBSCRIBERS"
