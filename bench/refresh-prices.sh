#!/usr/bin/env bash
# Dynamic prices at scale on Postgres: N products under one category rule, M of them ordered in
# the last week; the refresh-prices dry run, a run and a second run, each timed.
#   bench/refresh-prices.sh [products=100000] [ordered products=5000]
# Needs release builds: cargo build --release --bin iris --example pricing_bench
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/release
IRIS=${IRIS_BIN:-$TARGET/iris}
BENCH=$TARGET/examples/pricing_bench
PG_ADMIN=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PG_DB=iris_bench_pricing
for binary in "$IRIS" "$BENCH"; do
  [ -x "$binary" ] || { echo "build first: cargo build --release --bin iris --example pricing_bench ($binary missing)" >&2; exit 1; }
done
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" -c "CREATE DATABASE $PG_DB"
URL="${PG_ADMIN%/*}/$PG_DB?sslmode=disable"
DATABASE_URL=$URL RUST_LOG=warn "$IRIS" migrate up >/dev/null
DATABASE_URL=$URL RUST_LOG=warn SEED_ON_START=false "$BENCH" "$@"
