#!/usr/bin/env bash
# Start a throw-away FreeRADIUS 3.2 (Debian package) with its eap module
# (PEAP/MSCHAPv2, TTLS) as the reference for the EAP benchmark.
#
#   benches/eap/freeradius-eap.sh CERT_DIR [AUTH_PORT]       (default 18121)
#
# CERT_DIR holds ca.pem, server.pem (chain) and server.key: pass Portico's
# generated <data_dir>/eap so both servers present the same certificate.
# Environment: USERS (100), SECRET (bench-secret), RUN_DIR (a new temp dir).
# Users are user<n> / pass<n>. Reuses radiusd.conf and clients.conf from
# benches/freeradius/templates/. Prints FREERADIUS_PID=.. FREERADIUS_DIR=..
# Stop with: benches/freeradius/stop.sh "$FREERADIUS_DIR"
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
common="$here/../freeradius/templates"
cert_dir="$(cd "${1:?usage: freeradius-eap.sh CERT_DIR [AUTH_PORT]}" && pwd)"
auth_port="${2:-18121}"
users="${USERS:-100}"
secret="${SECRET:-bench-secret}"

die() { echo "freeradius-eap.sh: $*" >&2; exit 1; }
command -v freeradius >/dev/null || die "freeradius not installed (apt-get install -y freeradius)"
[[ "$auth_port" =~ ^[0-9]+$ ]] || die "port must be a number"
[[ "$users" =~ ^[0-9]+$ && "$users" -gt 0 ]] || die "USERS must be a positive number"
[[ "$secret" =~ ^[A-Za-z0-9._-]+$ ]] || die "SECRET: use letters, digits, '.', '_' or '-' only"
for f in ca.pem server.pem server.key; do [[ -f "$cert_dir/$f" ]] || die "$cert_dir/$f missing"; done

run_dir="${RUN_DIR:-$(mktemp -d /tmp/portico-freeradius-eap.XXXXXX)}"
mkdir -p "$run_dir"
run_dir="$(cd "$run_dir" && pwd)"
touch "$run_dir/.portico-bench"
raddb="$run_dir/raddb"
mkdir -p "$raddb/mods-enabled" "$raddb/sites-enabled" "$raddb/mods-config/files" \
	"$run_dir/log" "$run_dir/run" "$run_dir/radacct"

subst() {
	sed -e "s|@RUN_DIR@|$run_dir|g" -e "s|@SECRET@|$secret|g" \
		-e "s|@AUTH_PORT@|$auth_port|g" -e "s|@CERT_DIR@|$cert_dir|g" "$1"
}
subst "$common/radiusd.conf.in" >"$raddb/radiusd.conf"
subst "$common/clients.conf.in" >"$raddb/clients.conf"
subst "$here/templates/eap-site.in" >"$raddb/sites-enabled/bench"
subst "$here/templates/eap-modules.in" >"$raddb/mods-enabled/bench"
: >"$raddb/dictionary"
: >"$raddb/mods-config/files/accounting"
: >"$raddb/mods-config/files/pre-proxy"
awk -v n="$users" 'BEGIN { for (i = 0; i < n; i++) printf "user%d\tCleartext-Password := \"pass%d\"\n", i, i }' \
	>"$raddb/mods-config/files/authorize"

freeradius -C -d "$raddb" >"$run_dir/log/check.log" 2>&1 ||
	die "configuration check failed, see $run_dir/log/check.log"
setsid freeradius -f -d "$raddb" >"$run_dir/log/stdout.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$run_dir/run/harness.pid"

ready=no
for _ in $(seq 1 50); do
	kill -0 "$pid" 2>/dev/null || die "freeradius exited, see $run_dir/log/"
	if printf 'User-Name = "user0", User-Password = "pass0", Message-Authenticator = 0x00\n' |
		radclient -q -r 1 -t 1 "127.0.0.1:$auth_port" auth "$secret" >/dev/null 2>&1; then
		ready=yes
		break
	fi
	sleep 0.2
done
[[ "$ready" == yes ]] || { kill "$pid" 2>/dev/null || true; die "not answering on $auth_port, see $run_dir/log/"; }
echo "FREERADIUS_PID=$pid"
echo "FREERADIUS_DIR=$run_dir"
