#!/usr/bin/env bash
# SNMP polling benchmark: N simulated APs (one agent each, `portico-sim`
# from tools/, a separate process) polled by `portico serve` every INTERVAL
# for CYCLES cycles. Reports missed cycles, polls, the server's CPU time and
# peak RSS, and net-snmp's snmpbulkwalk doing the same walks for a sample
# of agents as the reference cost per AP. Loopback only; bounded in time.
#
#   benches/snmp/run.sh [N=5000] [INTERVAL=60] [CYCLES=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-5000}"; INTERVAL="${2:-60}"; CYCLES="${3:-3}"
BIN="${SNMP_BENCH_BIN:-target/release/portico}"
SIM="${SNMP_BENCH_SIM:-target/release/portico-sim}"
BASE_PORT="${BASE_PORT:-20000}"
SAMPLE="${SAMPLE:-200}"
[ -x "$BIN" ] && [ -x "$SIM" ] || { echo "build first: cargo build --release --bin portico --bin portico-sim" >&2; exit 1; }
work="$(mktemp -d)"; trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export PORTICO_DATA_DIR="$work/data" PORTICO_HTTP__LISTEN=127.0.0.1:0 \
  PORTICO_RADIUS__AUTH_LISTEN=127.0.0.1:0 PORTICO_RADIUS__ACCT_LISTEN=127.0.0.1:0 \
  PORTICO_SNMP__TRAP_LISTEN=127.0.0.1:0 PORTICO_SNMP__POLL_INTERVAL="${INTERVAL}s" \
  PORTICO_SNMP__REACHABILITY=snmp PORTICO_PROFILES__DIR="$PWD/ap-profiles" PORTICO_LOG=warn
run_for=$(( INTERVAL * (CYCLES + 1) + 60 ))
"$SIM" --count "$N" --profile generic --base-port "$BASE_PORT" --register \
  --duration "${run_for}s" > "$work/sim.out" 2>&1 &
sim=$!
for _ in $(seq 1 120); do grep -q '^simulating' "$work/sim.out" && break; sleep 0.5; done
grep '^simulating' "$work/sim.out" || { cat "$work/sim.out"; exit 1; }
"$BIN" serve > "$work/serve.out" 2> "$work/serve.err" &
srv=$!
for _ in $(seq 1 120); do grep -q '^listening http' "$work/serve.out" && break; sleep 0.5; done
http="$(awk '/^listening http /{print $3}' "$work/serve.out")"
metric() { curl -s "http://$http/metrics/snmp" | awk -v m="portico_snmp_$1_total" '$1==m{print $2}'; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)
# The first cycle includes start-up; measure the following CYCLES.
sleep "$INTERVAL"
c0=$(cpu "$srv"); ok0=$(metric polls_ok); t0=$(date +%s.%N)
sleep $(( INTERVAL * CYCLES ))
c1=$(cpu "$srv"); ok1=$(metric polls_ok); t1=$(date +%s.%N)
rss=$(awk '/VmHWM/{print $2}' "/proc/$srv/status")
sim_cpu=$(cpu "$sim")
missed=$(metric missed_cycles); failed=$(metric polls_failed)
timeouts=$(metric timeouts); requests=$(metric requests)
kill "$srv"; wait "$srv" 2>/dev/null || true
polls=$(( ok1 - ok0 ))
secs=$(echo "$t1 - $t0" | bc -l)
cpu_s=$(echo "($c1 - $c0) / $tck" | bc -l)
echo "window: ${secs}s over $CYCLES cycles of ${INTERVAL}s, $N APs"
echo "polls ok in window: $polls (expected $(( N * CYCLES ))), failed total: $failed, missed cycles: $missed"
echo "requests: $requests, timeouts: $timeouts"
printf 'portico serve CPU: %.2f s (%.1f%% of one core), %.1f us per AP poll\n' \
  "$cpu_s" "$(echo "100 * $cpu_s / $secs" | bc -l)" "$(echo "1000000 * $cpu_s / $polls" | bc -l)"
echo "portico serve peak RSS: $(( rss / 1024 )) MiB"
printf 'simulator CPU (whole run): %.1f s\n' "$(echo "$sim_cpu / $tck" | bc -l)"
# Reference: net-snmp walking the same tables of SAMPLE agents, one process
# per request as a poller script would: the same system scalars and the
# same eight columns (two 802.11, six IF-MIB) that portico reads.
start=$(date +%s.%N)
/usr/bin/time -f '%U %S' -o "$work/time" bash -c '
  for i in $(seq 0 $(( '"$SAMPLE"' - 1 ))); do
    p=$(( '"$BASE_PORT"' + i ))
    MIBS="" snmpget -v2c -c public -On 127.0.0.1:$p 1.3.6.1.2.1.1.1.0 1.3.6.1.2.1.1.2.0 1.3.6.1.2.1.1.3.0 1.3.6.1.2.1.1.5.0 >/dev/null
    MIBS="" snmpbulkwalk -v2c -c public -On -Cr25 127.0.0.1:$p 1.2.840.10036 >/dev/null
    for col in 1.3.6.1.2.1.2.2.1.2 1.3.6.1.2.1.2.2.1.8 1.3.6.1.2.1.2.2.1.10 1.3.6.1.2.1.2.2.1.16 \
               1.3.6.1.2.1.31.1.1.1.6 1.3.6.1.2.1.31.1.1.1.10; do
      MIBS="" snmpbulkwalk -v2c -c public -On -Cr25 127.0.0.1:$p $col >/dev/null
    done
  done'
end=$(date +%s.%N)
read -r u s < "$work/time"
printf 'net-snmp reference: %d APs in %.1f s wall, %.1f ms CPU per AP (user+sys of the tools)\n' \
  "$SAMPLE" "$(echo "$end - $start" | bc -l)" "$(echo "1000 * ($u + $s) / $SAMPLE" | bc -l)"
kill "$sim" 2>/dev/null || true
