#!/usr/bin/env bash
# Run portico-radload against one or more RADIUS servers and print one
# markdown table row per (server, scenario).
#
#   benches/run-radius-bench.sh TARGET...
#
# TARGET is NAME=AUTH_ADDR,ACCT_ADDR,PID, e.g.
#   portico=127.0.0.1:1812,127.0.0.1:1813,4242
# or the bare word `freeradius`, which starts the reference harness
# (benches/freeradius/run.sh on 18120/18130) and stops it at the end.
#
# Environment (defaults in brackets):
#   SECRET [bench-secret]   shared secret configured on every target
#   USERS [10000]           user population (user<n> / pass<n>)
#   DURATION [10s]          length of each measured run (hard bound)
#   WARMUP [2s]             unmeasured run before each target's first scenario
#   SCENARIOS ["pap:32 pap:64 acct:64"]  mode:concurrency list
#   TIMEOUT [1s]            per-request timeout given to portico-radload
#   RADLOAD [target/release/portico-radload]  built with cargo if missing
#
# Server CPU per request is the target's utime+stime delta (/proc/PID/stat)
# over the run divided by the answered requests; peak RSS is VmHWM from
# /proc/PID/status after the peak was reset (clear_refs 5) at the run start.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
secret="${SECRET:-bench-secret}"
users="${USERS:-10000}"
duration="${DURATION:-10s}"
warmup="${WARMUP:-2s}"
scenarios="${SCENARIOS:-pap:32 pap:64 acct:64}"
timeout="${TIMEOUT:-1s}"
radload="${RADLOAD:-$repo/target/release/portico-radload}"
hz="$(getconf CLK_TCK)"

die() { echo "run-radius-bench.sh: $*" >&2; exit 1; }
[[ $# -gt 0 ]] || die "give at least one target (NAME=AUTH,ACCT,PID or freeradius)"

if [[ ! -x "$radload" ]]; then
	(cd "$repo" && cargo build --release -p portico-tools --bin portico-radload) >&2
fi

fr_dir=""
cleanup() { if [[ -n "$fr_dir" ]]; then "$here/freeradius/stop.sh" "$fr_dir" || true; fi; }
trap cleanup EXIT

targets=()
for t in "$@"; do
	if [[ "$t" == freeradius ]]; then
		out="$(USERS="$users" SECRET="$secret" "$here/freeradius/run.sh" 18120 18130)"
		fr_dir="$(sed -n 's/^FREERADIUS_DIR=//p' <<<"$out")"
		fr_pid="$(sed -n 's/^FREERADIUS_PID=//p' <<<"$out")"
		targets+=("freeradius=127.0.0.1:18120,127.0.0.1:18130,$fr_pid")
	else
		[[ "$t" =~ ^[A-Za-z0-9_.-]+=[^,]+,[^,]+,[0-9]+$ ]] || die "bad target: $t"
		targets+=("$t")
	fi
done

cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
# Value of a numeric field in portico-radload's one-line JSON summary.
jget() { grep -o "\"$2\":[0-9.]*" <<<"$1" | head -1 | cut -d: -f2; }

echo "| server | mode | concurrency | users | requests/s | p50 µs | p99 µs | max µs | timeouts | bad | server CPU µs/req | load-tool CPU µs/req | server peak RSS MiB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for target in "${targets[@]}"; do
	name="${target%%=*}"
	IFS=, read -r auth acct pid <<<"${target#*=}"
	[[ -r "/proc/$pid/stat" ]] || die "$name: no process $pid"
	if [[ -n "$warmup" && "$warmup" != 0 ]]; then
		"$radload" pap --server "$auth" --secret "$secret" --users "$users" \
			--concurrency 32 --duration "$warmup" --timeout "$timeout" >/dev/null
	fi
	for sc in $scenarios; do
		mode="${sc%%:*}"
		conc="${sc#*:}"
		case "$mode" in
			pap) addr="$auth" ;;
			acct) addr="$acct" ;;
			*) die "unknown mode in SCENARIOS: $mode" ;;
		esac
		# Reset the peak RSS so VmHWM covers this run only (needs Linux >= 4.0).
		echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true
		before="$(cpu_ticks "$pid")"
		json="$("$radload" "$mode" --server "$addr" --secret "$secret" --users "$users" \
			--concurrency "$conc" --duration "$duration" --timeout "$timeout" --json)"
		after="$(cpu_ticks "$pid")"
		hwm="$(hwm_kib "$pid")"
		answered=$(($(jget "$json" accepts) + $(jget "$json" rejects) + $(jget "$json" challenges) + $(jget "$json" acct_responses)))
		server_us="n/a"
		if [[ "$answered" -gt 0 ]]; then
			server_us="$(awk -v d=$((after - before)) -v hz="$hz" -v n="$answered" 'BEGIN { printf "%.1f", d * 1e6 / hz / n }')"
		fi
		printf '| %s | %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %.1f |\n' \
			"$name" "$mode" "$conc" "$users" "$(jget "$json" requests_per_s)" \
			"$(jget "$json" p50)" "$(jget "$json" p99)" "$(jget "$json" max)" \
			"$(jget "$json" timeouts)" "$(jget "$json" bad_replies)" "$server_us" \
			"$(jget "$json" tool_cpu_us_per_request)" "$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')"
	done
done
