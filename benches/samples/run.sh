#!/usr/bin/env bash
# Bytes per radio sample on disk (issue 13): one 690-AP controller with two
# radios per AP, polled every 15 s for an hour (331,200 radio samples),
# written through the poller's own batch path; then the size of the radio
# tables and their indexes. Once on SQLite and once on PostgreSQL (in a
# database of its own, dropped afterwards).
#
#   benches/samples/run.sh [sqlite|postgres|both]   (default both)
#
# No network beyond the local PostgreSQL; every loop is bounded by count.
set -euo pipefail
cd "$(dirname "$0")/../.."

which="${1:-both}"
APS="${APS:-690}"
RADIOS="${RADIOS:-2}"
POLLS="${POLLS:-240}"
PG_ADMIN="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_BENCH_DB="${PG_BENCH_DB:-portico_samplesize_bench}"

cargo build --release -p portico-tools --bin portico-samplesize >/dev/null
BIN=target/release/portico-samplesize
args=(--aps "$APS" --radios "$RADIOS" --polls "$POLLS")

if [ "$which" = sqlite ] || [ "$which" = both ]; then
  "$BIN" "${args[@]}"
fi
if [ "$which" = postgres ] || [ "$which" = both ]; then
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_BENCH_DB" -qc "CREATE DATABASE $PG_BENCH_DB"
  "$BIN" "${args[@]}" --database-url "${PG_ADMIN%/*}/$PG_BENCH_DB"
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_BENCH_DB"
fi
