"""A history that cannot be written or opened: reported once, bounded, the run goes on.

Each case runs a real interpreter (a bare ``Pipeline.run()``, the default
runtime) in a subprocess with a timeout, as a user's program would. We run
as root, so file modes cannot make a history unwritable: the read-only
history is opened through SQLite's own ``mode=ro`` URI (SQLite refuses every
write, whoever the user is), and the unopenable one lies under ``/proc``
(no folder can be created there, not even by root) or is a folder.

The stated bound (docs/history.md): with a history whose writes fail at
once, ``Pipeline.run()`` returns at most 1.5 s after its last factory ended
(the first failing batch's retries take 0.35 s, then the writer tries one
batch per 5 s probe interval and drops the others at once), and the
process logs one ERROR about it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from pysetl.monitoring.history import SqliteRunHistory

STAGES = 20
LINES = 3  # log lines per factory, each followed by WORK seconds of work
WORK = 0.12  # above the writer's 0.1 s flush interval: every line is a batch
# of its own, and 60 batches fail (each retried for 0.35 s before the fix)
BOUND = 1.5  # seconds run() may return after its last factory ended

PROGRAM = f"""
import logging, time
from pysetl.workflow import Factory, Pipeline

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
log = logging.getLogger("user")
ended = [0.0]


class Step(Factory[int]):
    def read(self):
        return self

    def process(self):
        for _ in range({LINES}):
            log.info("step")  # captured: a batch of the history
            time.sleep({WORK})
        return self

    def write(self):
        ended[0] = time.perf_counter()
        return self

    def get(self):
        return 1


pipeline = Pipeline(name="unwritable")
for _ in range({STAGES}):
    pipeline.add_stage_from_type(Step)
pipeline.run()
print("waited", time.perf_counter() - ended[0], flush=True)
"""


def _run(url: str, cwd: Path) -> tuple[float, str]:
    """Run the program; the seconds run() waited after the work, and stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSETL_")}
    env["PYSETL_HISTORY_URL"] = url
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-c", PROGRAM],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,  # a relative path would land here, never in the repository
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("waited"), done.stdout
    assert elapsed < STAGES * LINES * WORK + 60  # the whole process, exit included
    return float(done.stdout.split()[1]), done.stderr


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ERROR ")]


class TestUnwritable:
    def test_a_read_only_history_costs_a_bounded_time_and_one_error(self, tmp_path):
        """Before: every batch was retried (0.35 s) and run() waited for them all.

        run() returned about 10 s (the writer's flush timeout) after the
        last factory ended.
        """
        path = tmp_path / "h.db"
        SqliteRunHistory(path).close()
        waited, stderr = _run(f"sqlite:///file:{path}?mode=ro&uri=true", tmp_path)
        assert waited < BOUND
        errors = _errors(stderr)
        assert len(errors) == 1, errors
        assert "pysetl observer pysetl-history failed" in errors[0]
        assert "further failures are reported at most every 60 s" in errors[0]
        assert "readonly database" in stderr
        history = SqliteRunHistory(path)
        try:
            assert history.list_runs().items == ()  # nothing was written
        finally:
            history.close()


class TestUnopenable:
    def _reported_and_ran(self, url: str, cwd: Path) -> None:
        _, stderr = _run(url, cwd)
        warnings = [ln for ln in stderr.splitlines() if ln.startswith("WARNING ")]
        assert any("the run history cannot be opened" in w for w in warnings), stderr
        assert _errors(stderr) == []

    def test_a_path_where_no_folder_can_be_made(self, tmp_path: Path):
        url = f"sqlite:////proc/pysetl-{os.getpid()}/history.db"
        self._reported_and_ran(url, tmp_path)

    def test_a_folder_where_the_file_should_be(self, tmp_path: Path):
        self._reported_and_ran(f"sqlite:///{tmp_path}", tmp_path)
