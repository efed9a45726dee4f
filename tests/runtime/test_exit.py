"""A process that records runs always exits, promptly, even when logging at exit.

Before the one writer thread, a ``HistoryLogHandler`` on the root logger made
a Spark program hang at interpreter exit: a log line from a ``__del__``
during shutdown restarted the recorder's writer thread. Each case runs a real
interpreter in a subprocess with a timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pysetl.monitoring.history import SqliteRunHistory

PIPELINE = """
import logging, sys
from pysetl.workflow import Factory, Pipeline

log = logging.getLogger("user")


class LogsWhenCollected:
    def __del__(self):
        log.warning("collected at exit")   # the handler is still on the root


class Count(Factory[int]):
    def read(self):
        log.info("counting")
        return self

    def process(self):
        self.n = {count}
        return self

    def write(self):
        return self

    def get(self):
        return self.n
"""

HAND_WIRED = (
    PIPELINE
    + """
from pysetl.monitoring.history import HistoryLogHandler, HistoryRecorder, open_history
from pysetl.workflow import HookManager

recorder = HistoryRecorder(open_history(sys.argv[1]))
logging.getLogger().addHandler(HistoryLogHandler(recorder))
logging.getLogger().setLevel(logging.INFO)
keep = LogsWhenCollected()
Pipeline(hooks=HookManager(observers=[recorder])).add_stage_from_type(Count).run()
recorder.close()
print("ran", flush=True)
"""
)

DEFAULT_RUNTIME = (
    PIPELINE
    + """
keep = LogsWhenCollected()
pipeline = Pipeline(name="exit").add_stage_from_type(Count).run()
print(pipeline.run_id, flush=True)
"""
)


def _run(
    code: str, *args: str, env: dict[str, str], timeout: float
) -> tuple[str, float]:
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    return done.stdout, elapsed


def _env(tmp_path: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSETL_")}
    return {**env, "PYSETL_HISTORY_URL": f"sqlite:///{tmp_path / 'h.db'}", **more}


class TestCleanExit:
    def test_a_hand_wired_log_handler_logging_at_exit_does_not_hold_the_process(
        self, tmp_path
    ):
        out, elapsed = _run(
            HAND_WIRED.format(count=1),
            str(tmp_path / "h.db"),
            env=_env(tmp_path),
            timeout=60,
        )
        assert out.strip() == "ran"
        assert elapsed < 30

    def test_the_default_runtime_records_and_exits(self, tmp_path):
        out, elapsed = _run(
            DEFAULT_RUNTIME.format(count=1), env=_env(tmp_path), timeout=60
        )
        run_id = out.strip()
        history = SqliteRunHistory(tmp_path / "h.db")
        try:
            assert history.get_run(run_id).status == "succeeded"
            messages = [g.message for g in history.search_logs(run_id).items]
            assert "counting" in messages
        finally:
            history.close()
        assert elapsed < 30


SPARK_PROGRAM = """
import logging, os
from pyspark.sql import SparkSession
from pysetl.workflow import Factory, Pipeline

log = logging.getLogger("user")


class LogsWhenCollected:
    def __del__(self):
        log.warning("collected at exit")


class Count(Factory[int]):
    def read(self):
        self.spark = SparkSession.getActiveSession()
        return self

    def process(self):
        self.n = self.spark.range(10).count()
        log.info("counted %d", self.n)
        return self

    def write(self):
        return self

    def get(self):
        return self.n


spark = (
    SparkSession.builder.master("local[1]")
    .config("spark.ui.enabled", "false")
    .config("spark.ui.showConsoleProgress", "false")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
keep = LogsWhenCollected()
"""
SPARK_DEFAULT = (
    SPARK_PROGRAM
    + """
pipeline = Pipeline(name="spark-exit").add_stage_from_type(Count).run()
print(pipeline.run_id, flush=True)
"""
)
# The set-up that hung forever before (checked: killed by a 90 s timeout on
# the code of 0.3, 13 s with the one writer): a recorder that is never
# closed and its log handler left on the root logger.
SPARK_HAND_WIRED = (
    SPARK_PROGRAM
    + """
import sys
from pysetl.monitoring.history import HistoryLogHandler, HistoryRecorder, open_history
from pysetl.workflow import HookManager

recorder = HistoryRecorder(open_history(sys.argv[1]))
logging.getLogger().addHandler(HistoryLogHandler(recorder))
logging.getLogger().setLevel(logging.INFO)
pipeline = Pipeline(hooks=HookManager(observers=[recorder]), name="spark-exit")
pipeline.add_stage_from_type(Count).run()
print(pipeline.run_id, flush=True)
"""
)


@pytest.mark.spark
@pytest.mark.parametrize("program", ["default runtime", "hand-wired handler"])
def test_a_spark_program_logging_at_exit_exits(tmp_path, program):
    """Py4J and the user log from ``__del__`` at exit; nothing may wait for a writer."""
    code = SPARK_DEFAULT if program == "default runtime" else SPARK_HAND_WIRED
    out, _ = _run(
        code,
        f"sqlite:///{tmp_path / 'h.db'}",
        env=_env(tmp_path, SPARK_LOCAL_IP="127.0.0.1"),
        timeout=120,
    )
    run_id = out.strip().splitlines()[-1]
    history = SqliteRunHistory(tmp_path / "h.db")
    try:
        assert history.get_run(run_id).status == "succeeded"
        lines = history.search_logs(run_id).items
        assert ("Count", "counted 10") in [(g.factory, g.message) for g in lines]
    finally:
        history.close()
