#!/usr/bin/env bash
# Invoices at scale on Postgres: N orders, then N supplier invoices (half Peppol UBL, half
# Swedish CSV) uploaded, read and reconciled through the invoicing service; the same N read
# and reconciled again by the extract-invoices sweep alone; and OCR pages per minute.
#   bench/invoices.sh [invoices=5000] [upload concurrency=32] [ocr pages=5]
# Needs release builds: cargo build --release --bin iris --example invoice_bench
# INVOICE_EXTRACTIONS (default 4) sets how many invoices are read at once.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/release
IRIS=${IRIS_BIN:-$TARGET/iris}
BENCH=$TARGET/examples/invoice_bench
PG_ADMIN=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PG_DB=iris_bench_invoices
for binary in "$IRIS" "$BENCH"; do
  [ -x "$binary" ] || { echo "build first: cargo build --release --bin iris --example invoice_bench ($binary missing)" >&2; exit 1; }
done
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" -c "CREATE DATABASE $PG_DB"
URL="${PG_ADMIN%/*}/$PG_DB?sslmode=disable"
DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT
DATABASE_URL=$URL RUST_LOG=warn "$IRIS" migrate up >/dev/null
DATABASE_URL=$URL DATA_DIR=$DATA RUST_LOG=warn SEED_ON_START=false "$BENCH" "$@"
