#!/usr/bin/env bash
# A supplier-connector catalog sync at scale: a fake wholesaler portal (examples/fake_portal.rs,
# the tests' portal) serving N articles, P to a page; a fresh Iris (release) with the demo
# data, one restaurant connected to `martin_servera` (plain HTTP driver, the connector's pace
# raised to its 100 pages/s ceiling, no jitter); one sync, timed by its run record. Prints
# items/s and Iris's RSS before and its peak (VmHWM) after.
#   bench/connector-sync.sh [articles=50000] [per page=250] [database-url]
# Needs release builds: cargo build --release --bin iris --example fake_portal
set -euo pipefail
ARTICLES=${1:-50000}
PER_PAGE=${2:-250}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/release
IRIS=${IRIS_BIN:-$TARGET/iris}
PORTAL_BIN=$TARGET/examples/fake_portal
for binary in "$IRIS" "$PORTAL_BIN"; do
  [ -x "$binary" ] || { echo "build first: cargo build --release --bin iris --example fake_portal ($binary missing)" >&2; exit 1; }
done
DIR=$(mktemp -d)
DATABASE=${3:-sqlite://$DIR/iris-connectors.db?mode=rwc}
PORT=18191
BASE=http://127.0.0.1:$PORT
. "$HERE/lib.sh"

PID= PORTAL=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  [ -n "$PORTAL" ] && kill "$PORTAL" 2>/dev/null || true
}
trap cleanup EXIT

"$PORTAL_BIN" "$ARTICLES" "$PER_PAGE" "$DIR/connectors" 2> "$DIR/portal.log" &
PORTAL=$!
until grep -q "fake portal" "$DIR/portal.log" 2>/dev/null; do sleep 0.05; done
read -r USERNAME PASSWORD < <(sed -E 's/.*username ([^ ]+) password (.*)$/\1 \2/' "$DIR/portal.log")

DATABASE_URL="$DATABASE" PORT=$PORT HOST=127.0.0.1 SCHEDULER_ENABLED=false \
  CONNECTOR_CONFIG_DIR="$DIR/connectors" API_RATE_LIMIT=100000000 RUST_LOG=warn \
  "$IRIS" serve > "$DIR/iris.log" 2>&1 &
PID=$!
until curl -sf -o /dev/null "$BASE/readyz"; do sleep 0.05; done
bench_setup
VERSION=$(curl -sf "$BASE/api/v1/integrations" "${AUTH[@]}" | json 'd["consent"]["version"]')
BODY=$(python3 -c 'import json,sys; print(json.dumps({"restaurantId": sys.argv[1], "username": sys.argv[2], "password": sys.argv[3], "consent": {"accepted": True, "version": sys.argv[4]}, "scopes": ["CATALOG", "PRICES"]}))' \
  "$RESTAURANT" "$USERNAME" "$PASSWORD" "$VERSION")
curl -sf "$BASE/api/v1/integrations/martin_servera/connect" "${AUTH[@]}" -d "$BODY" >/dev/null
RSS_BEFORE=$(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$PID/status")
RUN=$(curl -sf "$BASE/api/v1/integrations/martin_servera/sync" "${AUTH[@]}" \
  -d "{\"restaurantId\":\"$RESTAURANT\"}" | json 'd["data"]["id"]')
while :; do
  STATE=$(curl -sf "$BASE/api/v1/connector-runs/$RUN" "${AUTH[@]}")
  [ "$(echo "$STATE" | json 'd["data"]["status"]')" != RUNNING ] && break
  sleep 0.2
done
PEAK=$(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$PID/status")
echo "$STATE" | python3 -c "$(cat <<'PY'
import datetime, json, sys
d = json.load(sys.stdin)["data"]
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
seconds = (t(d["finishedAt"]) - t(d["startedAt"])).total_seconds()
items, pages = d["items"], d["detail"]["pages"]
print(f"sync {d['status']}: {items} items, {pages} pages in {seconds:.2f} s = {items / seconds:,.0f} items/s")
PY
)"
echo "iris RSS before the sync: $RSS_BEFORE MiB; peak (VmHWM) after: $PEAK MiB ($DATABASE)"
