#!/usr/bin/env bash
# Does the performance gate flap, and does it catch a planted slowdown?
#
#   bash scripts/gate_stability.sh [RUNS] [PLANTED]    (default 20 and 3)
#
# Clones HEAD into a temporary folder (an unchanged tree, whatever is being
# edited here), runs benchmarks/perf_gate.py RUNS times on it, then PLANTED
# times with PYSETL_PERF_GATE_SLOWDOWN=2 (every measured call done twice).
# Each run's output and JSON go to build/perf/stability-<UTC time>/; the last
# lines say how many plain runs failed (expected: 0) and how many planted
# runs were caught (expected: all). Exits 1 when either is not so.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${1:-20}"
PLANTED="${2:-3}"
VPY="${PYSETL_VENV:-$ROOT/.venv}/bin/python"
OUT="$ROOT/build/perf/stability-$(date -u +%Y%m%dT%H%M%SZ)"
TREE="$(mktemp -d)"
trap 'rm -rf "$TREE"' EXIT
mkdir -p "$OUT"
git clone -q "$ROOT" "$TREE"
echo "commit $(git -C "$TREE" rev-parse --short HEAD); results in $OUT"

gate() {
  # One gate run on the clone's code (its src/ ahead of the editable install).
  local name="$1"
  shift
  (cd "$TREE" && env "$@" PYTHONPATH="$TREE/src" "$VPY" benchmarks/perf_gate.py \
    --out "$OUT/$name") >"$OUT/$name.log" 2>&1
}

failed=0
for i in $(seq 1 "$RUNS"); do
  if gate "plain-$i" PYSETL_PERF_GATE_SLOWDOWN=1; then
    echo "plain run $i: passed ($(grep -o 'passed in .*' "$OUT/plain-$i.log"))"
  else
    failed=$((failed + 1))
    echo "plain run $i: FAILED"
    grep -E 'REGRESSION|not confirmed|failed' "$OUT/plain-$i.log" || true
  fi
done
caught=0
for i in $(seq 1 "$PLANTED"); do
  if gate "planted-$i" PYSETL_PERF_GATE_SLOWDOWN=2; then
    echo "planted run $i: NOT caught"
  else
    caught=$((caught + 1))
    echo "planted run $i: caught ($(grep -c REGRESSION "$OUT/planted-$i.log") cases)"
  fi
done
echo "summary: $failed of $RUNS plain runs failed; $caught of $PLANTED planted 2x slowdowns caught"
[[ "$failed" -eq 0 && "$caught" -eq "$PLANTED" ]]
