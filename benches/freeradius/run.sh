#!/usr/bin/env bash
# Start a throw-away FreeRADIUS 3.2 (Debian package) as the benchmark reference.
#
#   benches/freeradius/run.sh [AUTH_PORT [ACCT_PORT]]      (defaults 18120 18130)
#
# Environment: USERS (10000), SECRET (bench-secret), RUN_DIR (a new temp dir).
# Everything is generated under RUN_DIR at run time: raddb (from templates/),
# the files-module users (user<n> / pass<n>), logs and detail files. Nothing of
# /etc/freeradius is modified. On success prints shell assignments:
#   FREERADIUS_PID=.. FREERADIUS_DIR=.. FREERADIUS_AUTH=.. FREERADIUS_ACCT=..
# Stop with: benches/freeradius/stop.sh "$FREERADIUS_DIR"
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
auth_port="${1:-18120}"
acct_port="${2:-18130}"
users="${USERS:-10000}"
secret="${SECRET:-bench-secret}"

die() { echo "run.sh: $*" >&2; exit 1; }

command -v freeradius >/dev/null || die "freeradius not installed (apt-get install -y freeradius)"
command -v radclient >/dev/null || die "radclient not installed (apt-get install -y freeradius-utils)"
[[ "$auth_port" =~ ^[0-9]+$ && "$acct_port" =~ ^[0-9]+$ ]] || die "ports must be numbers"
[[ "$users" =~ ^[0-9]+$ && "$users" -gt 0 ]] || die "USERS must be a positive number"
[[ "$secret" =~ ^[A-Za-z0-9._-]+$ ]] || die "SECRET: use letters, digits, '.', '_' or '-' only"

run_dir="${RUN_DIR:-$(mktemp -d /tmp/portico-freeradius.XXXXXX)}"
mkdir -p "$run_dir"
run_dir="$(cd "$run_dir" && pwd)"
touch "$run_dir/.portico-bench"   # stop.sh only deletes directories carrying this marker
raddb="$run_dir/raddb"
mkdir -p "$raddb/mods-enabled" "$raddb/sites-enabled" "$raddb/mods-config/files" \
	"$run_dir/log" "$run_dir/run" "$run_dir/radacct"

subst() {
	sed -e "s|@RUN_DIR@|$run_dir|g" -e "s|@SECRET@|$secret|g" \
		-e "s|@AUTH_PORT@|$auth_port|g" -e "s|@ACCT_PORT@|$acct_port|g" "$1"
}
subst "$here/templates/radiusd.conf.in" >"$raddb/radiusd.conf"
subst "$here/templates/clients.conf.in" >"$raddb/clients.conf"
subst "$here/templates/site.in" >"$raddb/sites-enabled/bench"
subst "$here/templates/modules.in" >"$raddb/mods-enabled/bench"
: >"$raddb/dictionary"   # local dictionary: the system one in /usr/share/freeradius is enough
: >"$raddb/mods-config/files/accounting"
: >"$raddb/mods-config/files/pre-proxy"
awk -v n="$users" 'BEGIN { for (i = 0; i < n; i++) printf "user%d\tCleartext-Password := \"pass%d\"\n", i, i }' \
	>"$raddb/mods-config/files/authorize"

# Validate the configuration before starting (-C: check and exit).
freeradius -C -d "$raddb" >"$run_dir/log/check.log" 2>&1 ||
	die "configuration check failed, see $run_dir/log/check.log"

# Foreground mode (-f) in the background of this script; setsid so that it
# outlives the script and stop.sh can signal it by PID.
setsid freeradius -f -d "$raddb" >"$run_dir/log/stdout.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$run_dir/run/harness.pid"

# Ready when a PAP request with Message-Authenticator is accepted (bounded wait).
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
if [[ "$ready" != yes ]]; then
	kill "$pid" 2>/dev/null || true
	die "no Access-Accept for user0 within 10 s, see $run_dir/log/"
fi
printf 'User-Name = "user0", Acct-Status-Type = Start, Acct-Session-Id = "harness-check", NAS-IP-Address = 127.0.0.1\n' |
	radclient -q -r 2 -t 1 "127.0.0.1:$acct_port" acct "$secret" >/dev/null 2>&1 ||
	{ kill "$pid" 2>/dev/null || true; die "no Accounting-Response on port $acct_port"; }

echo "FREERADIUS_PID=$pid"
echo "FREERADIUS_DIR=$run_dir"
echo "FREERADIUS_AUTH=127.0.0.1:$auth_port"
echo "FREERADIUS_ACCT=127.0.0.1:$acct_port"
