#!/usr/bin/env bash
# EAP benchmark driver: Portico and FreeRADIUS 3.2 (eap module), same
# machine, same certificate, same users, one run. See benches/eap/README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$here/../.."
procs="${PROCS:-8}"; auths="${AUTHS:-50}"; convs="${CONVERSATIONS:-2000}"
users="${USERS:-16}"; secret="${SECRET:-bench-secret}"
(( users >= procs )) || users=$procs

work="$(mktemp -d /tmp/portico-eap-bench.XXXXXX)"
portico_pid=""; fr_dir=""
cleanup() {
	[[ -n "$portico_pid" ]] && kill "$portico_pid" 2>/dev/null || true
	[[ -n "$fr_dir" ]] && "$repo/benches/freeradius/stop.sh" "$fr_dir" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

bin="${BENCH_BIN:-}"
if [[ -z "$bin" ]]; then
	(cd "$repo" && cargo build --release --bin portico >/dev/null)
	bin="$repo/target/release/portico"
fi
export PORTICO_DATA_DIR="$work/data" PORTICO_HTTP__LISTEN=127.0.0.1:0 \
	PORTICO_RADIUS__AUTH_LISTEN=127.0.0.1:18122 PORTICO_RADIUS__ACCT_LISTEN=127.0.0.1:0 \
	PORTICO_SNMP__TRAP_LISTEN=127.0.0.1:0 PORTICO_PROFILES__DIR="$repo/ap-profiles" \
	PORTICO_LOG=warn PORTICO_EAP__IDLE_TIMEOUT=120s
printf '%s\n' "$secret" | "$bin" nas add bench --address 127.0.0.1/32 --secret-stdin >/dev/null
{
	echo "username,password"
	for i in $(seq 0 $((users - 1))); do echo "user$i,pass$i"; done
} >"$work/users.csv"
"$bin" user import "$work/users.csv" >/dev/null
setsid "$bin" serve >"$work/portico.out" 2>"$work/portico.log" </dev/null &
portico_pid=$!
for _ in $(seq 1 100); do grep -q "listening radius-auth" "$work/portico.out" && break; sleep 0.1; done
ca="$work/data/eap/ca.pem"

eval "$(SECRET="$secret" USERS="$users" "$here/freeradius-eap.sh" "$work/data/eap" 18121)"
fr_dir="$FREERADIUS_DIR"

# Measure on a quiet machine: wait (bounded) for compiles to finish.
waited=0
while pgrep -x rustc >/dev/null && (( waited < ${MAX_WAIT:-600} )); do
	echo "waiting: a compile is running" >&2; sleep 10; waited=$((waited + 10))
done
busy=""; pgrep -x rustc >/dev/null && busy=" (machine busy: a compile was running)"
echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); PROCS=$procs AUTHS=$auths$busy"
SECRET="$secret" "$here/peap-rate.sh" portico 127.0.0.1:18122 "$portico_pid" "$ca" "$procs" "$auths"
SECRET="$secret" "$here/peap-rate.sh" freeradius 127.0.0.1:18121 "$FREERADIUS_PID" "$ca" "$procs" "$auths"
SECRET="$secret" "$here/peap-rate.sh" portico 127.0.0.1:18122 "$portico_pid" "$ca" "$procs" "$auths"
SECRET="$secret" "$here/peap-rate.sh" freeradius 127.0.0.1:18121 "$FREERADIUS_PID" "$ca" "$procs" "$auths"
pgrep -x rustc >/dev/null && echo "# note: a compile was running during the rate rows"
echo "portico    $("$here/open_conversations.py" --server 127.0.0.1:18122 --secret "$secret" --pid "$portico_pid" -n "$convs")"
echo "freeradius $("$here/open_conversations.py" --server 127.0.0.1:18121 --secret "$secret" --pid "$FREERADIUS_PID" -n "$convs")"
pgrep -x rustc >/dev/null && echo "# note: a compile was running at the end"
true
