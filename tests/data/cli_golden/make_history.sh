#!/usr/bin/env bash
# Records tests/data/cli_golden/history.db, the "demo history" that
# tests/cli/test_golden_outputs.py runs the read-only CLI commands on.
#
#   bash tests/data/cli_golden/make_history.sh SRC [OUT]
#
# SRC is a checkout whose code records the runs (the golden history was made
# with a worktree of 5f24018, the commit before the architecture
# consolidation of issue 15); OUT defaults to history.db beside this script.
# Needs Java (the demo runs Spark) and the repository's .venv. It records, in
# this order (the work folder is fixed, so the recorded paths are too):
#
#   1. demo/flights_etl.py (env dev): succeeds;
#   2. demo/flights_etl.py (env prod): succeeds, writes the prod reports;
#   3. demo/flights_etl.py (env prod) again: fails, its reports exist
#      (savemode errorifexists); the alerts rules run_failed and new_error
#      fire, their webhook delivery fails (nothing listens on port 9);
#   4. the golden shop's `pysetl run orders`: succeeds (no Spark);
#   5. `pysetl run orders --param fail=1`: CountOrders fails;
#   6. demo/flights_etl.py (env dev) again: succeeds, the alerts resolve.
#
# The demo runs from a copy of SRC/demo whose conf/base gets an alerts.yaml.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
SRC="$(cd "${1:?usage: make_history.sh SRC [OUT]}" && pwd)"
OUT="${2:-$HERE/history.db}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
WORK=/tmp/pysetl-cli-golden

rm -rf "$WORK"
mkdir -p "$WORK"
cp -r "$SRC/demo" "$WORK/demo"
rm -rf "$WORK/demo/output"
cp -r "$HERE/shop" "$WORK/shop"
cat >"$WORK/demo/conf/base/alerts.yaml" <<'YAML'
alerts:
  delivery: {timeout: 0.5, retries: 0, deadline: 1.0}
  notifiers:
    ops-hook:
      type: webhook
      url: http://127.0.0.1:9/hooks/alerts
  rules:
    - {name: failed, kind: run_failed}
    - {name: new-error, kind: new_error, lookback: 30d}
YAML

# Only these PYSETL_* variables: the history, a fixed host name, the demo's paths.
for name in $(env | sed -n 's/^\(PYSETL_[A-Z_]*\)=.*/\1/p'); do unset "$name"; done
export PYTHONPATH="$SRC/src" PYTHONDONTWRITEBYTECODE=1 TZ=UTC
export PYSETL_HISTORY_URL="$WORK/history.db" PYSETL_HOST=golden-host
export PYSETL_DEMO_RAW="$WORK/raw" PYSETL_DEMO_OUTPUT="$WORK/output"
"$PY" -c 'import pysetl, sys; sys.exit(not pysetl.__file__.startswith(sys.argv[1]))' "$SRC/src"

cd "$WORK"
PYSETL_ENV=dev "$PY" demo/flights_etl.py
PYSETL_ENV=prod "$PY" demo/flights_etl.py
if PYSETL_ENV=prod "$PY" demo/flights_etl.py; then
  echo "the prod run was meant to fail" >&2
  exit 1
fi
(cd shop && "$PY" -m pysetl.cli run orders)
if (cd shop && "$PY" -m pysetl.cli run orders --param fail=1); then
  echo "the failing shop run was meant to fail" >&2
  exit 1
fi
PYSETL_ENV=dev "$PY" demo/flights_etl.py

"$PY" - "$WORK/history.db" "$OUT" <<'PY'
import shutil
import sqlite3
import sys

source, target = sys.argv[1:]
conn = sqlite3.connect(source)
conn.execute("VACUUM")
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
conn.close()
shutil.copyfile(source, target)
PY
echo "wrote $OUT"
