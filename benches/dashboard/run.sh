#!/usr/bin/env bash
# The dashboard benchmark (issue 12): fill a store with a large site
# (5,000 APs with a week of samples, 50,000 open sessions, 10 million
# auth-log rows), start the release build on it, play 20 concurrent
# administrators against the pages and the API for 30 s, then time a
# streamed CSV export of one day of the log (~1.4 million rows) and read
# the server's RSS. Once on SQLite and once on PostgreSQL.
#
#   benches/dashboard/run.sh [sqlite|postgres|both]   (default both)
#
# Loopback only; every loop bounded in time. Sizes can be lowered for a
# quick look: APS=500 SESSIONS=5000 AUTH_LOG=1000000 benches/dashboard/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

which="${1:-both}"
APS="${APS:-5000}"
SESSIONS="${SESSIONS:-50000}"
AUTH_LOG="${AUTH_LOG:-10000000}"
DURATION="${DURATION:-30s}"
PG_ADMIN="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_BENCH_DB="${PG_BENCH_DB:-portico_dashboard_bench}"

cargo build --release --bin portico -p portico >/dev/null
cargo build --release -p portico-tools --bin portico-dashload >/dev/null
BIN=target/release/portico
LOAD=target/release/portico-dashload

pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null || true' EXIT

run() {
  local backend="$1" db=""
  local data
  data="$(mktemp -d /tmp/portico-dash-XXXX)"
  if [ "$backend" = postgres ]; then
    psql "$PG_ADMIN" -q -c "DROP DATABASE IF EXISTS $PG_BENCH_DB" -c "CREATE DATABASE $PG_BENCH_DB"
    db="${PG_ADMIN%/*}/$PG_BENCH_DB"
  fi
  echo "== $backend: filling ($APS APs, $SESSIONS sessions, $AUTH_LOG auth-log rows)"
  /usr/bin/time -f "fill: %e s, peak RSS %M KiB" "$LOAD" fill --data-dir "$data" --database "$db" \
    --aps "$APS" --sessions "$SESSIONS" --auth-log "$AUTH_LOG"
  export PORTICO_DATA_DIR="$data" PORTICO_DATABASE__URL="$db"
  export PORTICO_ADMIN__LISTEN=127.0.0.1:18443 PORTICO_ADMIN__TLS=false PORTICO_ADMIN__ROLE_SEPARATION=false
  export PORTICO_HTTP__LISTEN=127.0.0.1:18080 PORTICO_RADIUS__AUTH_LISTEN=127.0.0.1:18120
  export PORTICO_RADIUS__ACCT_LISTEN=127.0.0.1:18130 PORTICO_SNMP__TRAP_LISTEN=127.0.0.1:0
  export PORTICO_LOG=warn
  "$BIN" serve >"$data/serve.out" 2>"$data/serve.log" &
  pid=$!
  for _ in $(seq 1 120); do
    curl -fs http://127.0.0.1:18443/healthz >/dev/null 2>&1 && break
    sleep 0.5
  done
  local token
  token="$("$BIN" admin token create --admin admin --name bench)"
  echo "== $backend: 20 admins for $DURATION"
  "$LOAD" load --url http://127.0.0.1:18443 --token "$token" --admins 20 --duration "$DURATION"
  # One day of the log, the day before yesterday (UTC+8): a full day.
  local day
  day="$(TZ=Asia/Shanghai date -d '2 days ago' +%F)"
  echo "== $backend: CSV export of $day"
  "$LOAD" export --url http://127.0.0.1:18443 --token "$token" --query "since=$day&until=$day" --pid "$pid"
  grep VmHWM "/proc/$pid/status" || true
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
  rm -rf "$data"
  if [ "$backend" = postgres ]; then
    psql "$PG_ADMIN" -q -c "DROP DATABASE IF EXISTS $PG_BENCH_DB"
  fi
}

case "$which" in
  sqlite) run sqlite ;;
  postgres) run postgres ;;
  both) run sqlite; run postgres ;;
  *) echo "usage: $0 [sqlite|postgres|both]" >&2; exit 2 ;;
esac
