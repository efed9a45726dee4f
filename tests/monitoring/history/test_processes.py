"""Real processes on one SQLite history: a SIGKILL mid-run, eight writers at once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from typer.testing import CliRunner

from pysetl.cli.__main__ import app
from pysetl.monitoring.history import SqliteRunHistory

WORKER = textwrap.dedent(
    """
    import sys, time
    from typing_extensions import Self
    from pysetl.monitoring.history import HistoryRecorder, SqliteRunHistory
    from pysetl.workflow import Factory, HookManager, Pipeline

    class Quick(Factory[int]):
        def read(self) -> Self:
            return self
        def process(self) -> Self:
            return self
        def write(self) -> Self:
            return self
        def get(self) -> int:
            return 1

    class Sleepy(Quick):
        def process(self) -> Self:
            time.sleep(float(sys.argv[3]))
            return self

    path, runs, sleep, stages = sys.argv[1], int(sys.argv[2]), sys.argv[3], 3
    recorder = HistoryRecorder(
        SqliteRunHistory(path), heartbeat_interval=0.1
    )
    for n in range(runs):
        pipeline = Pipeline(hooks=HookManager(observers=[recorder]), name=f"w{n}")
        for stage in range(stages - 1):
            pipeline.add_stage_from_type(Quick)
        pipeline.add_stage_from_type(Sleepy)
        pipeline.run()
        pipeline.hooks.close()
    recorder.close()
    print("failed_batches", recorder.failed_batches)
    """
)

EVENTS_PER_RUN = 2 + 3 * 2  # pipeline and 3 stages: before/after (attempts have rows)


@pytest.fixture
def worker(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)

    def start(path, runs, sleep):
        return subprocess.Popen(  # noqa: S603 - our interpreter, our script
            [sys.executable, str(script), str(path), str(runs), str(sleep)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    return start


class TestCrash:
    def test_a_killed_run_keeps_its_events_and_is_shown_crashed(
        self, tmp_path, worker, wait_for
    ):
        path = tmp_path / "history.db"
        proc = worker(path, runs=1, sleep=120)
        history = SqliteRunHistory(path, migrate=False)

        def sleeping():
            runs = history.list_runs().items
            if not runs:
                return False
            attempts = history.list_factory_attempts(runs[0].run_id)
            return len(attempts.items) == 3

        try:
            wait_for(sleeping, timeout=60)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        history.close()

        # A fresh process-like open: the file is consistent and readable.
        check = sqlite3.connect(path)
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        check.close()
        reopened = SqliteRunHistory(path)
        run = reopened.list_runs().items[0]
        assert run.status == "running"  # until someone reconciles
        assert run.pid == proc.pid
        # What a user sees: the CLI marks the dead run and shows it crashed.
        shown = CliRunner().invoke(app, ["--history", str(path), "runs", "list"])
        assert shown.exit_code == 0, shown.output
        assert run.run_id in shown.output
        assert "crashed" in shown.output
        assert reopened.reconcile_crashed() == []  # already done
        run = reopened.get_run(run.run_id)
        assert run.status == "crashed"
        assert f"process {proc.pid}" in run.error["message"]
        events = reopened.list_events(run.run_id).items
        # It ended at its last sign of life: never before what it recorded.
        assert run.finished_at >= max(run.heartbeat_at, *(e.ts for e in events))
        assert run.duration > 0
        names = [e.name for e in events]
        assert names[:3] == [
            "before_pipeline_run",
            "before_stage_run",
            "after_stage_run",
        ]
        assert names.count("before_stage_run") == 3
        attempts = reopened.list_factory_attempts(run.run_id).items
        assert run.finished_at >= max(a.started_at for a in attempts)
        assert [a.status for a in attempts] == ["succeeded", "succeeded", "crashed"]
        stages = reopened.list_stage_runs(run.run_id).items
        assert [s.status for s in stages] == ["succeeded", "succeeded", "crashed"]
        reopened.close()


TICKING_WORKER = textwrap.dedent(
    """
    import logging, sys, time
    from typing_extensions import Self
    from pysetl.monitoring.history import (
        HistoryLogHandler, HistoryRecorder, SqliteRunHistory
    )
    from pysetl.workflow import Factory, HookManager, Pipeline

    log = logging.getLogger("worker")

    class Ticking(Factory[int]):
        def read(self) -> Self:
            return self
        def process(self) -> Self:
            while True:
                log.warning("tick")
                time.sleep(0.1)
        def write(self) -> Self:
            return self  # pragma: no cover - killed in process()
        def get(self) -> int:
            return 1  # pragma: no cover - killed in process()

    # The default heartbeat interval (10 s): no heartbeat lands before the kill.
    recorder = HistoryRecorder(SqliteRunHistory(sys.argv[1]))
    log.addHandler(HistoryLogHandler(recorder))
    log.setLevel(logging.INFO)
    pipeline = Pipeline(hooks=HookManager(observers=[recorder]), name="ticking")
    pipeline.add_stage_from_type(Ticking).run()
    """
)


class TestCrashDuration:
    def test_a_run_killed_2_s_in_lasted_2_s_not_0(self, tmp_path, wait_for):
        """Its end is its last sign of life (a log line), not its start."""
        script, path = tmp_path / "ticking.py", tmp_path / "history.db"
        script.write_text(TICKING_WORKER)
        proc = subprocess.Popen(  # noqa: S603 - our interpreter, our script
            [sys.executable, str(script), str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        history = SqliteRunHistory(path, migrate=False)
        started: list[float] = []

        def ticking():
            runs = history.list_runs().items if path.exists() else ()
            if runs and history.search_logs(runs[0].run_id, text="tick").items:
                started.append(runs[0].started_at)
            return bool(started)

        try:
            wait_for(ticking, timeout=60)
            wait_for(lambda: time.time() - started[0] >= 2.0, timeout=10)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            killed_at = time.time()
            proc.communicate()
        history.close()
        assert proc.returncode == -signal.SIGKILL

        shown = CliRunner().invoke(app, ["--history", str(path), "runs", "list"])
        assert shown.exit_code == 0, shown.output
        reopened = SqliteRunHistory(path)
        run = reopened.list_runs().items[0]
        assert run.status == "crashed"
        assert run.finished_at >= run.heartbeat_at  # the last log line, or later
        assert 1.5 < run.duration <= killed_at - run.started_at
        assert f"{run.duration:.2f} s" in shown.output
        assert "0.00 s" not in shown.output
        (stage,) = reopened.list_stage_runs(run.run_id).items
        (attempt,) = reopened.list_factory_attempts(run.run_id).items
        assert (stage.status, attempt.status) == ("crashed", "crashed")
        assert stage.finished_at == attempt.finished_at == run.finished_at
        assert 1.4 < attempt.duration <= stage.duration <= run.duration
        show = CliRunner().invoke(
            app, ["--history", str(path), "runs", "show", run.run_id]
        )
        assert show.exit_code == 0, show.output
        assert f"{attempt.duration:.2f} s" in show.output
        assert "0.00 s" not in show.output
        reopened.close()


SILENT_WORKER = textwrap.dedent(
    """
    import sys, time
    from typing_extensions import Self
    from pysetl.monitoring.history import HistoryRecorder, SqliteRunHistory
    from pysetl.workflow import Factory, HookManager, Pipeline

    class Silent(Factory[int]):
        def read(self) -> Self:
            return self
        def process(self) -> Self:
            time.sleep(120)  # records nothing until it is killed
            return self  # pragma: no cover - killed in process()
        def write(self) -> Self:
            return self  # pragma: no cover - killed in process()
        def get(self) -> int:
            return 1  # pragma: no cover - killed in process()

    # The default heartbeat interval (10 s) is never reached before the kill.
    recorder = HistoryRecorder(SqliteRunHistory(sys.argv[1]))
    pipeline = Pipeline(hooks=HookManager(observers=[recorder]), name="silent")
    pipeline.add_stage_from_type(Silent).run()
    """
)


class TestSilentCrash:
    def test_a_silent_run_killed_before_its_heartbeat_interval_did_not_last_0_s(
        self, tmp_path, wait_for
    ):
        """Before: nothing after its start was recorded: crashed after 0.00 s.

        Its first heartbeats now come 1 s and 2 s after its start, so a run
        killed 3.5 s in ends at least 2 s after it started.
        """
        script, path = tmp_path / "silent.py", tmp_path / "history.db"
        script.write_text(SILENT_WORKER)
        proc = subprocess.Popen(  # noqa: S603 - our interpreter, our script
            [sys.executable, str(script), str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        history = SqliteRunHistory(path, migrate=False)
        started: list[float] = []

        def running():
            runs = history.list_runs().items if path.exists() else ()
            if runs and history.list_factory_attempts(runs[0].run_id).items:
                started.append(runs[0].started_at)
            return bool(started)

        try:
            wait_for(running, timeout=60)
            wait_for(lambda: time.time() - started[0] >= 3.5, timeout=10)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            killed_at = time.time()
            proc.communicate()
        history.close()
        assert proc.returncode == -signal.SIGKILL
        shown = CliRunner().invoke(app, ["--history", str(path), "runs", "list"])
        assert shown.exit_code == 0, shown.output
        reopened = SqliteRunHistory(path)
        run = reopened.list_runs().items[0]
        assert run.status == "crashed"
        assert 1.9 < run.duration <= killed_at - run.started_at
        assert f"{run.duration:.2f} s" in shown.output
        (attempt,) = reopened.list_factory_attempts(run.run_id).items
        assert attempt.status == "crashed"
        assert attempt.duration > 1.8
        reopened.close()


class TestConcurrentWriters:
    def test_eight_processes_lose_no_event(self, tmp_path, worker):
        path = tmp_path / "history.db"
        runs_each = 4
        procs = [worker(path, runs=runs_each, sleep=0) for _ in range(8)]
        results = [proc.communicate(timeout=120) for proc in procs]
        for proc, (out, err) in zip(procs, results, strict=True):
            assert proc.returncode == 0, err
            assert "failed_batches 0" in out
            assert "Traceback" not in err
        history = SqliteRunHistory(path)
        runs = []
        cursor = None
        while True:
            page = history.list_runs(limit=7, cursor=cursor)
            runs.extend(page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert len(runs) == 8 * runs_each
        assert len({r.run_id for r in runs}) == 8 * runs_each
        assert {r.status for r in runs} == {"succeeded"}
        assert len({r.pid for r in runs}) == 8
        for run in runs:
            events = history.list_events(run.run_id, limit=100).items
            assert len(events) == EVENTS_PER_RUN
            assert len(history.list_factory_attempts(run.run_id).items) == 3
        history.close()


EXIT_SCRIPT = textwrap.dedent(
    """
    import sys
    from pysetl.monitoring.history import AddEvent, HistoryRecorder, SqliteRunHistory

    # A minute-long batch window: only the exit hook can write these in time.
    recorder = HistoryRecorder(SqliteRunHistory(sys.argv[1]))
    recorder.history.start_run("01EXIT", "p")
    recorder.submit(*[AddEvent("01EXIT", float(i), "custom") for i in range(50)])
    """
)


class TestInterpreterExit:
    def test_queued_events_are_written_at_exit(self, tmp_path):
        script = tmp_path / "exit.py"
        script.write_text(EXIT_SCRIPT)
        path = tmp_path / "history.db"
        result = subprocess.run(  # noqa: S603 - our interpreter, our script
            [sys.executable, str(script), str(path)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        history = SqliteRunHistory(path)
        assert len(history.list_events("01EXIT", limit=100).items) == 50
        history.close()
