#!/usr/bin/env bash
# Demand forecasting at scale: 10,000 series of 365 days.
#   bench/forecast.sh [series=10000]
# 1. The engine alone (examples/forecast_engine.rs): synthetic series, fitted, backtested and
#    forecast on every core; prints the time, the models chosen and the backtest sMAPE of the
#    chosen models against seasonal-naive's.
# 2. The whole `forecast-demand` job on a fresh Postgres database (BENCH_PG_URL) holding a year
#    of daily usage for every series (100 restaurants × series/100 products, generated in SQL):
#    reading the history, fitting, backtesting and storing 30 days per series, timed by
#    `iris jobs run forecast-demand`.
# Needs release builds: cargo build --release --bin iris --example forecast_engine
set -euo pipefail
SERIES=${1:-10000}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/release
IRIS=${IRIS_BIN:-$TARGET/iris}
ENGINE=$TARGET/examples/forecast_engine
PG_ADMIN=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PG_DB=iris_bench_forecast
for binary in "$IRIS" "$ENGINE"; do
  [ -x "$binary" ] || { echo "build first: cargo build --release --bin iris --example forecast_engine ($binary missing)" >&2; exit 1; }
done
echo "machine: $(nproc) core(s), load $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== 1. the engine alone"
"$ENGINE" "$SERIES" 365

echo "== 2. the forecast-demand job on Postgres"
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" -c "CREATE DATABASE $PG_DB"
URL="${PG_ADMIN%/*}/$PG_DB?sslmode=disable"
DATABASE_URL=$URL RUST_LOG=warn "$IRIS" migrate up >/dev/null
RESTAURANTS=100
PRODUCTS=$(( (SERIES + RESTAURANTS - 1) / RESTAURANTS ))
started=$(date +%s.%N)
psql "${PG_ADMIN%/*}/$PG_DB" -q <<SQL
-- One item per (restaurant, product), then a year of daily USAGE with a weekly pattern, a
-- slow trend and noise (in thousandths of the unit).
CREATE TEMP TABLE pairs AS
  SELECT gen_random_uuid() AS item, r.id AS restaurant, gen_random_uuid() AS product,
         (2 + (row_number() OVER ()) % 40) * 1000 AS base
  FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, $RESTAURANTS)) r,
       generate_series(1, $PRODUCTS) p
  LIMIT $SERIES;
INSERT INTO inventory_items (id, restaurant_id, product_id, name, unit, pack_size_milli, active, created_at, updated_at)
  SELECT item, restaurant, product, 'Vara', 'KG', 1000, true, now(), now() FROM pairs;
INSERT INTO inventory_movements (id, item_id, restaurant_id, kind, quantity_milli, occurred_at, created_at)
  SELECT gen_random_uuid(), item, restaurant, 'USAGE',
         -greatest(0, round(base
             * (ARRAY[0.7, 0.8, 0.9, 1.0, 1.4, 1.6, 0.6])[extract(isodow FROM day)::int]
             * (1 + 0.001 * (365 - ago))
             * (1 + 0.15 * (random() + random() + random() - 1.5) * 2)))::bigint,
         day + time '19:00', now()
  FROM pairs,
       LATERAL (SELECT ago, (current_date - ago) AS day FROM generate_series(1, 365) ago) d;
ANALYZE inventory_movements;
SQL
seeded=$(date +%s.%N)
printf 'seeded %s series, %s movements in %.1f s\n' "$SERIES" "$((SERIES * 365))" "$(echo "$seeded - $started" | bc)"
/usr/bin/time -f 'forecast-demand: %e s wall, %M KB max RSS' env DATABASE_URL=$URL RUST_LOG=warn "$IRIS" jobs run forecast-demand
psql "${PG_ADMIN%/*}/$PG_DB" -Atc "SELECT 'stored: ' || count(*) || ' series, ' || (SELECT count(*) FROM forecast_points) || ' points; models ' || string_agg(DISTINCT model, ',') FROM forecast_series"
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)"
