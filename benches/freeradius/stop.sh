#!/usr/bin/env bash
# Stop a FreeRADIUS started by run.sh and remove its run directory.
#   benches/freeradius/stop.sh RUN_DIR      (KEEP=1 keeps the directory)
set -euo pipefail
run_dir="${1:?usage: stop.sh RUN_DIR}"
[[ -f "$run_dir/.portico-bench" ]] || { echo "stop.sh: $run_dir was not made by run.sh" >&2; exit 1; }
pid_file="$run_dir/run/harness.pid"
if [[ -f "$pid_file" ]]; then
	pid="$(cat "$pid_file")"
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	fi
fi
if [[ "${KEEP:-0}" != 1 ]]; then rm -rf -- "$run_dir"; fi
