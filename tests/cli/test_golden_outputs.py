"""Golden outputs: the read-only CLI commands print, byte for byte, what they printed.

Issue 15 (architecture consolidation) must change no behaviour: every
read-only ``pysetl`` command that reads a run history, and the ``--help`` of
every command and group, prints today exactly what it printed at 5f24018,
the commit before the consolidation. Each case below is run on a copy of the
demo history, and its exit code, stdout and stderr are compared with the
file ``tests/data/cli_golden/<name>.txt`` that the 5f24018 code wrote; a
mismatch shows a unified diff.

How the data was made
---------------------

``tests/data/cli_golden/history.db`` is a small SQLite run history, recorded
by ``tests/data/cli_golden/make_history.sh`` (read it for the details) with
the code of a worktree of 5f24018::

    git worktree add /tmp/golden-base 5f24018
    bash tests/data/cli_golden/make_history.sh /tmp/golden-base

It holds six runs: the demo (``demo/flights_etl.py``, Spark) succeeding in
``dev`` and ``prod``, failing in ``prod`` (its reports exist already), and
succeeding again; and the Spark-free golden shop (``tests/data/cli_golden/
shop``, ``pysetl run orders``) succeeding, then failing in ``CountOrders``.
With them: stages, factory attempts, log lines, metrics and Spark figures,
two config versions (``dev`` and ``prod``) and two alerts (``run_failed`` and
``new_error`` rules: fired, a failed webhook delivery, resolved).

Regenerating the golden outputs
-------------------------------

Only when an output is *meant* to change (never to make a refactor pass)::

    PYSETL_REGEN_GOLDEN=1 .venv/bin/python -m pytest -p no:randomly \\
        tests/cli/test_golden_outputs.py

rewrites every ``<name>.txt`` from the code under test, then compares as
usual. The suite never sets the variable. To write them from another
checkout's code (the golden files were written from 5f24018's so), run the
module as a script with that code first on the path (pytest itself would
load the suite's conftest with it)::

    PYTHONPATH=/tmp/golden-base/src .venv/bin/python tests/cli/test_golden_outputs.py

It prints which ``pysetl/__init__.py`` the commands ran.
A case added to ``CASES`` needs its file: regenerate from 5f24018's code.

Determinism
-----------

* The commands run in a fixed environment: ``TZ=UTC``, ``COLUMNS=120``,
  ``NO_COLOR=1``, ``TERM=dumb``, ``LANG=C.UTF-8``, ``PYTHONHASHSEED=0``,
  ``PYSETL_HISTORY_URL=history.db`` (relative: the copy lies in the working
  folder, so the URL the commands print is always ``sqlite:///history.db``),
  ``USER`` fixed, ``HOME`` an empty place, and no other ``PYSETL_*``
  variable. Each case gets its own copy of the history (and of the shop), in
  its own working folder: no case sees what another wrote (``runs list``
  marks dead runs crashed; SQLite's WAL mode adds -wal/-shm files), and the
  tracked files are never opened for writing.
* "Now": the CLI reads the clock with ``time.time()`` (the window of
  ``pysetl errors``, its daily trend that ends today, the active silences,
  crash detection; nothing on these paths calls ``datetime.now()``). The
  runner pins ``time.time`` to ``NOW`` (79 minutes after the last recorded
  run) before pysetl is imported, so nothing depends on the day the test
  runs; no output is normalised.
* ``pysetl --version`` is left out: the version comes from the installed
  distribution's metadata (``git describe`` when it was installed), not from
  the code.
* Speed: one subprocess imports the CLI once, then forks a child per case
  (the child's stdout and stderr are files, as with a pipe; it runs
  ``pysetl.cli.__main__.main(argv)``, what ``python -m pysetl.cli`` runs, and
  exits with its code). No JVM starts: ``graph`` draws the Spark-free shop.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data" / "cli_golden"
HISTORY = DATA / "history.db"
SHOP = DATA / "shop"
REGEN_ENV = "PYSETL_REGEN_GOLDEN"
TIMEOUT = 120

NOW = 1_796_374_800.0
"""2026-12-04 09:00 UTC: "now" for every command, 79 minutes after the last run."""

# The runs of history.db, oldest first.
DEV_1 = "01M8ZZTYA5VN7XPCJV5SVY8HAJ"
PROD_OK = "01M8ZZWHPQB8SSQDSP12SMFQQF"
PROD_FAILED = "01M8ZZYAGPSC03FVWQQDHX8GZ6"
SHOP_OK = "01M8ZZZ0CRAJRHNZE1A712NJPZ"
SHOP_FAILED = "01M8ZZZ2V43MF57687DRENQGRT"
DEV_2 = "01M8ZZZJ156AH3MJS4CC5EJ5H4"
RUNS = {
    "dev-1": DEV_1,
    "prod-ok": PROD_OK,
    "prod-failed": PROD_FAILED,
    "shop-ok": SHOP_OK,
    "shop-failed": SHOP_FAILED,
    "dev-2": DEV_2,
}
# Its error groups (pysetl errors) and config versions.
FP_SHOP = "aac86f0db77c"
FP_ROUTES = "3ec2235a0c8c"
FP_CARRIERS = "39d13a22769a"
CONFIG_DEV = "9dd6b393ea1b"
CONFIG_PROD = "8b260d2d789d"

# Every command and group, for their --help.
COMMANDS = [
    (),
    ("runs",),
    ("runs", "list"),
    ("runs", "show"),
    ("runs", "prune"),
    ("logs",),
    ("errors",),
    ("errors", "show"),
    ("alerts",),
    ("alerts", "list"),
    ("alerts", "test"),
    ("alerts", "check"),
    ("alerts", "watch"),
    ("alerts", "silence"),
    ("config",),
    ("config", "explain"),
    ("config", "show"),
    ("config", "validate"),
    ("config", "schema"),
    ("config", "record"),
    ("config", "history"),
    ("config", "diff"),
    ("config", "rollback"),
    ("config", "encrypt"),
    ("config", "audit"),
    ("config", "keygen"),
    ("config", "rotate-key"),
    ("ui",),
    ("run",),
    ("graph",),
    ("new",),
    ("doctor",),
]


def _cases() -> dict[str, tuple[str, ...]]:
    """Every case: its golden file's name and the command's arguments."""
    cases: dict[str, tuple[str, ...]] = {}
    for command in COMMANDS:
        cases["help-" + ("-".join(command) or "pysetl")] = (*command, "--help")
    cases["no-arguments"] = ()
    cases |= {
        "runs-list": ("runs", "list"),
        "runs-list-failed": ("runs", "list", "--status", "failed"),
        "runs-list-succeeded": ("runs", "list", "--status", "succeeded"),
        "runs-list-orders": ("runs", "list", "--pipeline", "orders"),
        "runs-list-host": ("runs", "list", "--host", "golden-host"),
        "runs-list-other-host": ("runs", "list", "--host", "elsewhere"),
        "runs-list-limit-2": ("runs", "list", "--limit", "2"),
        "runs-list-page-2": ("runs", "list", "--limit", "2", "--page", "2"),
        "runs-list-page-9": ("runs", "list", "--limit", "2", "--page", "9"),
        "runs-list-bad-status": ("runs", "list", "--status", "nope"),
        "runs-list-history-option": ("--history", "history.db", "runs", "list"),
    }
    for name, run_id in RUNS.items():
        cases[f"runs-show-{name}"] = ("runs", "show", run_id)
        cases[f"logs-{name}"] = ("logs", run_id)
    cases |= {
        "runs-show-prod-failed-traceback": ("runs", "show", PROD_FAILED, "--traceback"),
        "runs-show-shop-failed-traceback": ("runs", "show", SHOP_FAILED, "--traceback"),
        "runs-show-limit-1": ("runs", "show", DEV_1, "--limit", "1"),
        "runs-show-missing": ("runs", "show", "01NOSUCHRUN"),
        "logs-prod-failed-warning": ("logs", PROD_FAILED, "--level", "WARNING"),
        "logs-prod-failed-grep": ("logs", PROD_FAILED, "--grep", "path_already"),
        "logs-shop-ok-factory": ("logs", SHOP_OK, "--factory", "CleanOrders"),
        "logs-dev-1-limit-2": ("logs", DEV_1, "--limit", "2"),
        "logs-missing": ("logs", "01NOSUCHRUN"),
        "errors": ("errors",),
        "errors-since-all": ("errors", "--since", "all"),
        "errors-since-1h": ("errors", "--since", "1h"),
        "errors-since-2h": ("errors", "--since", "2h"),
        "errors-json": ("errors", "--json"),
        "errors-orders": ("errors", "--pipeline", "orders"),
        "errors-limit-1": ("errors", "--limit", "1"),
        "errors-bad-since": ("errors", "--since", "soon"),
        "errors-show-shop": ("errors", "show", FP_SHOP),
        "errors-show-routes": ("errors", "show", FP_ROUTES),
        "errors-show-carriers": ("errors", "show", FP_CARRIERS),
        "errors-show-carriers-json": ("errors", "show", FP_CARRIERS, "--json"),
        "errors-show-prefix": ("errors", "show", FP_SHOP[:4]),
        "errors-show-since-1h": ("errors", "show", FP_SHOP, "--since", "1h"),
        "errors-show-missing": ("errors", "show", "ffffffffffff"),
        "alerts-list": ("alerts", "list"),
        "alerts-list-resolved": ("alerts", "list", "--state", "resolved"),
        "alerts-list-firing": ("alerts", "list", "--state", "firing"),
        "alerts-list-limit-1": ("alerts", "list", "--limit", "1"),
        "alerts-list-id-1": ("alerts", "list", "--id", "1"),
        "alerts-list-id-2": ("alerts", "list", "--id", "2"),
        "alerts-list-id-missing": ("alerts", "list", "--id", "99"),
        "alerts-silence-list": ("alerts", "silence", "--list"),
        "config-history": ("config", "history"),
        "config-history-prod": ("config", "history", "--env", "prod"),
        "config-history-limit-1": ("config", "history", "--limit", "1"),
        "config-audit": ("config", "audit"),
        "config-diff-dev-prod": ("config", "diff", CONFIG_DEV, CONFIG_PROD),
        "config-diff-prod-dev": ("config", "diff", CONFIG_PROD, CONFIG_DEV),
        "config-diff-same": ("config", "diff", CONFIG_DEV, CONFIG_DEV),
        "config-diff-missing": ("config", "diff", "0000000000", CONFIG_DEV),
        "graph-text": ("graph", "--project", "shop", "--format", "text"),
        "graph-mermaid": ("graph", "--project", "shop"),
        "graph-dot": ("graph", "--project", "shop", "--format", "dot"),
        "graph-html": ("graph", "--project", "shop", "--format", "html"),
        "graph-no-state": ("graph", "orders", "--project", "shop", "--no-state"),
    }
    return cases


CASES = _cases()

# Runs in one subprocess: pins the clock, imports the CLI once, then forks a
# child per case (at most JOBS at a time). A child works in its own folder
# (a copy of the history and of the shop, so no case sees another's -wal
# file or writes), with stdout and stderr going to files; the subprocess
# prints each case's exit code as a JSON line.
PRELOAD = (
    "typer.rich_utils",
    "pysetl.monitoring.history",
    "pysetl.monitoring.history.alert_store",
    "pysetl.monitoring.errors",
    "pysetl.runtime.describe",
    "pysetl.workflow.render",
)
JOBS = 2
RUNNER = r"""
import json, os, shutil, sys, time

now, spec, folder, history, shop, jobs = sys.argv[1:7]
time.time = lambda: float(now)  # before pysetl is imported: "now" is pinned
from pysetl.cli.__main__ import main

# What the commands import lazily, imported once here (each child would
# otherwise import it again): it changes no output, only the time taken.
for module in json.loads(sys.argv[7]):
    try:
        __import__(module)
    except ImportError:
        pass


def child(name, argv):
    work = os.path.join(folder, name)
    os.mkdir(work)
    shutil.copyfile(history, os.path.join(work, "history.db"))
    shutil.copytree(shop, os.path.join(work, "shop"))
    os.chdir(work)
    for fd, suffix in ((1, ".out"), (2, ".err")):
        path = os.path.join(folder, name + suffix)
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    try:
        main(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


print(json.dumps({"pysetl": sys.modules["pysetl"].__file__}), flush=True)
running = {}


def reap():
    pid, status = os.waitpid(-1, 0)
    code = os.waitstatus_to_exitcode(status)
    print(json.dumps({running.pop(pid): code}), flush=True)


for name, argv in json.loads(open(spec, encoding="utf-8").read()).items():
    while len(running) >= int(jobs):
        reap()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            code = child(name, argv)
        finally:
            os._exit(code)
    running[pid] = name
while running:
    reap()
"""


def _environment(home: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "USER": "golden",
        "LOGNAME": "golden",
        "TZ": "UTC",
        "COLUMNS": "120",
        "NO_COLOR": "1",
        "TERM": "dumb",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYSETL_HISTORY_URL": "history.db",
    }
    if os.environ.get("PYTHONPATH"):  # regenerating from another checkout
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def _render(args: tuple[str, ...], code: int, stdout: str, stderr: str) -> str:
    return (
        f"$ pysetl {' '.join(args)}".rstrip()
        + f"\nexit code: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}"
    )


def run_cases(
    folder: Path, cases: dict[str, tuple[str, ...]]
) -> tuple[str, dict[str, str]]:
    """Run ``cases``, each on its own copy of the golden history, in ``folder``.

    ``folder`` gets the copies (and their -wal/-shm files), copies of the
    golden shop and each case's raw output; nothing is written elsewhere.

    Returns:
        The ``pysetl/__init__.py`` the commands ran, and each case's output.
    """
    spec = folder / "cases.json"
    spec.write_text(json.dumps({k: list(v) for k, v in cases.items()}), "utf-8")
    done = subprocess.run(  # noqa: S603 - our interpreter and our runner
        [
            sys.executable,
            "-c",
            RUNNER,
            repr(NOW),
            str(spec),
            str(folder),
            str(HISTORY),
            str(SHOP),
            str(JOBS),
            json.dumps(PRELOAD),
        ],
        cwd=folder,
        env=_environment(folder / "home"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    codes: dict[str, int] = {}
    for line in done.stdout.splitlines():
        codes |= json.loads(line)
    source = str(codes.pop("pysetl"))
    assert sorted(codes) == sorted(cases), done.stderr
    return source, {
        name: _render(
            args,
            codes[name],
            (folder / f"{name}.out").read_bytes().decode("utf-8"),
            (folder / f"{name}.err").read_bytes().decode("utf-8"),
        )
        for name, args in cases.items()
    }


def regenerate(folder: Path) -> str:
    """Rewrite every golden file from the code the subprocess imports.

    Returns:
        The ``pysetl/__init__.py`` the commands ran (check it is the code
        meant).
    """
    source, outputs = run_cases(folder, CASES)
    for stale in DATA.glob("*.txt"):
        stale.unlink()
    for name, text in outputs.items():
        (DATA / f"{name}.txt").write_bytes(text.encode("utf-8"))
    return source


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("cli_golden")
    if os.environ.get(REGEN_ENV) == "1":
        regenerate(folder)
        folder = tmp_path_factory.mktemp("cli_golden_check")
    return run_cases(folder, CASES)[1]


def test_every_golden_file_has_a_case():
    files = {path.stem for path in DATA.glob("*.txt")}
    assert files == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_output_is_the_golden_one(outputs, name):
    expected = (DATA / f"{name}.txt").read_bytes().decode("utf-8")
    actual = outputs[name]
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"golden/{name}.txt",
                tofile=f"now/{name}",
            )
        )
        pytest.fail(f"`{CASES[name]}` printed something else:\n{diff}")


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        source = regenerate(Path(tmp))
        print(f"golden outputs of {source} written to {DATA}")  # noqa: T201
