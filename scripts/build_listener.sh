#!/usr/bin/env bash
# Build pysetl's Spark listener jar from its Java source (needs a JDK 17+'s
# javac and jar, and pyspark in .venv for Spark's classes):
#
#   bash scripts/build_listener.sh
#
# The jar is committed, so that users (and CI, which installs a JRE only)
# need no JDK. It holds the SHA-256 of the source it was built from
# (META-INF/pysetl-listener.sha256), which tests/monitoring/metrics/
# test_listener.py compares with the source: rebuild after every change.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
here=src/pysetl/monitoring/metrics/jvm
source="$here/GroupListener.java"
python="${PYTHON:-.venv/bin/python}"
jars="$("$python" -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')"
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
# --release 17: Spark 4 needs Java 17, and its jars cannot be read by an
# older target; on an older Java pysetl falls back to the status store.
javac --release 17 -nowarn -cp "$jars/*" -d "$build/classes" "$source"
mkdir -p "$build/classes/META-INF"
sha256sum "$source" | cut -d' ' -f1 >"$build/classes/META-INF/pysetl-listener.sha256"
# A fixed date makes the jar's bytes depend on the classes only.
jar --create --date=2026-01-01T00:00:00Z --no-manifest --file "$build/pysetl-listener.jar" \
  -C "$build/classes" .
mv "$build/pysetl-listener.jar" "$here/pysetl-listener.jar"
echo "built $here/pysetl-listener.jar from $source"
