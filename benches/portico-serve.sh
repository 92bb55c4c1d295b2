#!/usr/bin/env bash
# Starts a release `portico serve` for the RADIUS benchmark: a temp data
# directory (SQLite), one NAS for 127.0.0.1 with SECRET, USERS users
# user<n>/pass<n> imported (argon2id), loopback listeners. Prints
# PORTICO_PID=, PORTICO_AUTH=, PORTICO_ACCT=, PORTICO_DIR= for
# benches/run-radius-bench.sh; stop it with `kill $PORTICO_PID`.
#
#   eval "$(benches/portico-serve.sh)"
#   WARMUP=90s benches/run-radius-bench.sh \
#       portico=$PORTICO_AUTH,$PORTICO_ACCT,$PORTICO_PID freeradius
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
bin="${PORTICO_BIN:-$repo/target/release/portico}"
secret="${SECRET:-bench-secret}"
users="${USERS:-10000}"
[[ -x "$bin" ]] || (cd "$repo" && cargo build --release --bin portico) >&2
dir="$(mktemp -d /tmp/portico-bench.XXXXXX)"
export PORTICO_DATA_DIR="$dir/data" PORTICO_HTTP__LISTEN=127.0.0.1:0 \
	PORTICO_ADMIN__LISTEN=127.0.0.1:0 PORTICO_ADMIN__TLS=false \
	PORTICO_RADIUS__AUTH_LISTEN=127.0.0.1:0 PORTICO_RADIUS__ACCT_LISTEN=127.0.0.1:0 \
	PORTICO_SNMP__TRAP_LISTEN=127.0.0.1:0 PORTICO_LOG=warn
printf '%s\n' "$secret" | "$bin" nas add bench --address 127.0.0.1/32 --secret-stdin >/dev/null
{
	echo "username,password"
	for ((i = 0; i < users; i++)); do echo "user$i,pass$i"; done
} >"$dir/users.csv"
"$bin" user import "$dir/users.csv" >&2
"$bin" serve >"$dir/serve.out" 2>"$dir/serve.log" &
pid=$!
for _ in $(seq 1 200); do
	grep -q '^listening radius-acct' "$dir/serve.out" 2>/dev/null && break
	sleep 0.1
done
auth="$(sed -n 's/^listening radius-auth //p' "$dir/serve.out")"
acct="$(sed -n 's/^listening radius-acct //p' "$dir/serve.out")"
[[ -n "$auth" && -n "$acct" ]] || { echo "portico did not start; see $dir/serve.log" >&2; kill "$pid" 2>/dev/null; exit 1; }
echo "PORTICO_PID=$pid"
echo "PORTICO_AUTH=$auth"
echo "PORTICO_ACCT=$acct"
echo "PORTICO_DIR=$dir"
