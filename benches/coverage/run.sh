#!/usr/bin/env bash
# Coverage prediction, Rust against a straightforward NumPy implementation
# of the same model (src/coverage/model.rs): portico-coverage-bench writes
# a scene and its per-band results (best, second, SNR, contention) to
# target/coverage-bench and times itself; benches/coverage/reference.py
# recomputes the scene with NumPy, times that (best of 3), and checks the
# two agree (0.01 dB; contention exactly), exiting non-zero if they do not.
#
#   benches/coverage/run.sh [portico-coverage-bench args...]
#
# NumPy goes into a venv at target/bench-venv (created once; pip is the
# only network use). Every loop is bounded by count.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=target/bench-venv
OUT=target/coverage-bench

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import numpy' 2>/dev/null; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check numpy
fi

cargo build --release -p portico-tools --bin portico-coverage-bench >/dev/null
mkdir -p "$OUT"
target/release/portico-coverage-bench --out "$OUT" "$@"
"$VENV/bin/python" benches/coverage/reference.py "$OUT"
