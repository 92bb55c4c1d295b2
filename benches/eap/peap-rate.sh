#!/usr/bin/env bash
# Full PEAP/MSCHAPv2 authentications per second against one RADIUS server:
# PROCS eapol_test processes in parallel, each doing AUTHS full
# authentications in a row (-r AUTHS-1: every re-authentication is a whole
# new EAP conversation with a full TLS handshake; neither server resumes
# sessions). Bounded: AUTHS <= 1000, PROCS <= 64, each eapol_test <= 300 s.
#
#   benches/eap/peap-rate.sh NAME HOST:PORT SERVER_PID CA_FILE [PROCS [AUTHS]]
#
# Env: SECRET (bench-secret). Process i authenticates as user<i>/pass<i>.
# Prints one line: NAME procs auths ok secs rate/s server_cpu_us_per_auth peak_rss_kib
set -euo pipefail
name="$1"; server="$2"; pid="$3"; ca="$4"
procs="${5:-8}"; auths="${6:-50}"
secret="${SECRET:-bench-secret}"
(( procs >= 1 && procs <= 64 )) || { echo "PROCS 1..64" >&2; exit 1; }
(( auths >= 1 && auths <= 1000 )) || { echo "AUTHS 1..1000" >&2; exit 1; }
host="${server%:*}"; port="${server##*:}"
work="$(mktemp -d /tmp/portico-eap-rate.XXXXXX)"
trap 'rm -rf "$work"' EXIT

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
tick=$(getconf CLK_TCK)

for i in $(seq 0 $((procs - 1))); do
	cat >"$work/$i.conf" <<EOC
network={
	key_mgmt=WPA-EAP
	eap=PEAP
	identity="user$i"
	anonymous_identity="anonymous"
	password="pass$i"
	ca_cert="$ca"
	phase2="auth=MSCHAPV2"
}
EOC
done

echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true
cpu0=$(cpu_ticks "$pid")
t0=$(date +%s.%N)
for i in $(seq 0 $((procs - 1))); do
	timeout 300 eapol_test -c "$work/$i.conf" -a "$host" -p "$port" -s "$secret" \
		-r $((auths - 1)) -t 60 >"$work/$i.out" 2>&1 &
done
wait || true
t1=$(date +%s.%N)
cpu1=$(cpu_ticks "$pid")
ok=0
for i in $(seq 0 $((procs - 1))); do
	# One "EAP authentication completed successfully" per authentication.
	n=$(grep -c "CTRL-EVENT-EAP-SUCCESS" "$work/$i.out" || true)
	ok=$((ok + n))
done
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
awk -v name="$name" -v p="$procs" -v a="$((procs * auths))" -v ok="$ok" -v t0="$t0" -v t1="$t1" \
	-v c="$((cpu1 - cpu0))" -v tick="$tick" -v hwm="$hwm" 'BEGIN {
	secs = t1 - t0
	printf "%s procs=%d auths=%d ok=%d secs=%.2f rate=%.1f/s server_cpu_us_per_auth=%.0f peak_rss_kib=%d\n",
		name, p, a, ok, secs, ok / secs, (ok > 0 ? c / tick * 1e6 / ok : 0), hwm
}'
