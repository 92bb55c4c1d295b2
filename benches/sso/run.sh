#!/usr/bin/env bash
# The OpenID Connect provider's benchmark: a release `portico serve` on a
# temp data directory (SQLite, or PostgreSQL when DATABASE_URL names a
# database made for it, never a shared one), one staff account, one
# confidential client (the per-address sign-in limit raised: every
# sign-out round signs in again from 127.0.0.1), then portico-ssobench
# against it on loopback: authorize → code, code exchange, refresh
# rotation, userinfo, and sign-out → the app told by back channel (a
# listener in the tool).
#
#   benches/sso/run.sh [portico-ssobench args...]
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/portico_ssobench benches/sso/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build --release --bin portico -p portico >/dev/null
cargo build --release -p portico-tools --bin portico-ssobench >/dev/null
bin=target/release/portico
dir="$(mktemp -d /tmp/portico-ssobench.XXXXXX)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port="$(free_port)"
bcl_port="$(free_port)"
export PORTICO_DATA_DIR="$dir/data" PORTICO_HTTP__LISTEN="127.0.0.1:$port" \
	PORTICO_ADMIN__LISTEN=127.0.0.1:0 PORTICO_ADMIN__TLS=false \
	PORTICO_RADIUS__AUTH_LISTEN=127.0.0.1:0 PORTICO_RADIUS__ACCT_LISTEN=127.0.0.1:0 \
	PORTICO_SNMP__TRAP_LISTEN=127.0.0.1:0 PORTICO_LOG=warn \
	PORTICO_SSO__ISSUER="http://127.0.0.1:$port/oidc" \
	PORTICO_PORTAL__ATTEMPTS_PER_IP_PER_MINUTE=100000
if [[ -n "${DATABASE_URL:-}" ]]; then export PORTICO_DATABASE__URL="$DATABASE_URL"; fi
password='Bench-pass-2026'
printf '%s\n' "$password" | "$bin" user add bench --password-stdin --display-name "Bench User" >/dev/null
secret="$("$bin" oidc client add meeting --redirect-uri http://127.0.0.1:9/cb \
	--backchannel-logout-uri "http://127.0.0.1:$bcl_port/bcl" |
	sed -n 's/^client secret (shown once): //p')"
"$bin" serve >"$dir/serve.out" 2>"$dir/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 200); do
	grep -q '^listening http ' "$dir/serve.out" 2>/dev/null && break
	sleep 0.1
done
PORTICO_CLIENT_SECRET="$secret" PORTICO_USER_PASSWORD="$password" \
	target/release/portico-ssobench --issuer "http://127.0.0.1:$port/oidc" \
	--redirect-uri http://127.0.0.1:9/cb --user bench \
	--backchannel-listen "127.0.0.1:$bcl_port" "$@"
echo "server peak RSS: $(grep VmHWM /proc/$pid/status | awk '{print $2, $3}')"
