"""Several hosts, one history: host names, crash detection across hosts, filters.

Hosts are presented with ``PYSETL_HOST`` (what two machines or containers
sharing a PostgreSQL history would record); the cross-process test runs two
real processes against the session's real PostgreSQL server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from typer.testing import CliRunner

from pysetl.cli.__main__ import app
from pysetl.errors import ConfigError
from pysetl.monitoring.history import HistoryRecorder, PostgresRunHistory
from pysetl.runtime import Session
from pysetl.settings import reset_settings, settings

T0 = 1_700_000_000.0


def run_id(n: int) -> str:
    return f"01HOST{n:020d}"


@pytest.fixture
def as_host(monkeypatch):
    """``as_host(name)``: this process presents ``name`` (``PYSETL_HOST``)."""

    def present(name: str | None) -> None:
        if name is None:
            monkeypatch.delenv("PYSETL_HOST", raising=False)
        else:
            monkeypatch.setenv("PYSETL_HOST", name)
        reset_settings()

    return present


class TestHostName:
    def test_pysetl_host_names_the_runs_of_this_process(self, history, as_host):
        as_host("etl-a")
        history.start_run(run_id(1), "p", started_at=T0)
        assert history.get_run(run_id(1)).host == "etl-a"
        recorder = HistoryRecorder(history)
        assert recorder._host == "etl-a"
        assert HistoryRecorder(history, host="etl-c")._host == "etl-c"

    def test_a_bad_host_name_is_refused_naming_the_variable(self, as_host):
        as_host("two words")
        with pytest.raises(ConfigError, match="PYSETL_HOST") as info:
            settings()
        assert "printable" in info.value.hint
        as_host("x" * 256)
        with pytest.raises(ConfigError, match="PYSETL_HOST"):
            settings()

    def test_a_session_records_under_its_host_argument(self, tmp_path, as_host):
        as_host("from-env")
        history_url = str(tmp_path / "h.db")
        with Session(history=history_url, host="from-arg", observe=True) as session:
            assert session.recorder is not None
            assert session.recorder._host == "from-arg"
        with pytest.raises(ConfigError, match=r"Session\(host=...\)"):
            Session(history=history_url, host="bad\nname", observe=True)


class TestCrashAcrossHosts:
    def test_a_dead_pid_counts_only_on_the_host_that_recorded_it(
        self, history, dead_pid, as_host
    ):
        now = time.time()
        history.start_run(run_id(1), "p", started_at=now, pid=dead_pid, host="etl-b")
        as_host("etl-a")
        # Another host's pid means nothing here: its heartbeat is fresh.
        assert history.reconcile_crashed(stale_after=60) == []
        assert history.get_run(run_id(1)).status == "running"
        as_host("etl-b")  # the host that recorded it checks its pid
        assert history.reconcile_crashed(stale_after=60) == [run_id(1)]
        assert "on etl-b is gone" in history.get_run(run_id(1)).error["message"]

    def test_a_silent_run_is_crashed_whatever_its_host(self, history, as_host):
        as_host("etl-a")
        history.start_run(run_id(1), "p", started_at=T0, pid=os.getpid(), host="b")
        history.start_run(run_id(2), "p", started_at=T0, pid=os.getpid())
        history.heartbeat(run_id(2), at=T0 + 50)
        crashed = history.reconcile_crashed(stale_after=60, now=T0 + 100)
        assert crashed == [run_id(1)]
        assert "no heartbeat" in history.get_run(run_id(1)).error["message"]


class TestHostFilter:
    def test_list_runs_filters_by_host_and_pages(self, history):
        for n in range(5):
            history.start_run(
                run_id(n), "p", started_at=T0 + n, host="a" if n % 2 else "b"
            )
        first = history.list_runs(host="b", limit=2)
        assert [r.run_id for r in first.items] == [run_id(4), run_id(2)]
        rest = history.list_runs(host="b", limit=2, cursor=first.next_cursor)
        assert [r.run_id for r in rest.items] == [run_id(0)]
        assert [r.run_id for r in history.list_runs(host="a").items] == [
            run_id(3),
            run_id(1),
        ]
        assert history.list_runs(host="nowhere").items == ()


WORKER = textwrap.dedent(
    """
    import sys, time
    from typing_extensions import Self
    from pysetl.monitoring.history import HistoryRecorder, open_history
    from pysetl.workflow import Factory, HookManager, Pipeline

    class Quick(Factory[int]):
        def read(self) -> Self:
            return self
        def process(self) -> Self:
            time.sleep(float(sys.argv[3]))
            return self
        def write(self) -> Self:
            return self
        def get(self) -> int:
            return 1

    url, runs = sys.argv[1], int(sys.argv[2])
    recorder = HistoryRecorder(open_history(url), heartbeat_interval=0.2)
    for n in range(runs):
        pipeline = Pipeline(hooks=HookManager(observers=[recorder]), name="shared")
        pipeline.add_stage_from_type(Quick)
        pipeline.run()
        pipeline.hooks.close()
    recorder.close()
    print("done", flush=True)
    """
)


@pytest.mark.postgres
class TestTwoHostsOnePostgres:
    def test_two_processes_share_a_history_and_crashes_are_judged_by_heartbeat(
        self, tmp_path, pg_url, wait_for, as_host
    ):
        script = tmp_path / "worker.py"
        script.write_text(WORKER)

        def start(host: str, runs: int, sleep: float) -> subprocess.Popen[str]:
            env = {**os.environ, "PYSETL_HOST": host}
            return subprocess.Popen(  # noqa: S603 - our interpreter, our script
                [sys.executable, str(script), pg_url, str(runs), str(sleep)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )

        finished = start("etl-a", 2, 0)
        hanging = start("etl-b", 1, 120)
        _, err = finished.communicate(timeout=60)
        assert finished.returncode == 0, err
        history = PostgresRunHistory(pg_url)
        try:
            wait_for(
                lambda: any(
                    r.heartbeat_at and r.heartbeat_at > r.started_at
                    for r in history.list_runs(host="etl-b").items
                ),
                timeout=60,
            )
            hanging.send_signal(signal.SIGKILL)  # the machine "etl-b" dies
            hanging.communicate(timeout=10)
            runs = history.list_runs().items
            assert sorted(r.host for r in runs) == ["etl-a", "etl-a", "etl-b"]
            (lost,) = history.list_runs(host="etl-b").items
            # Seen from etl-a: the pid is another machine's, so only the
            # heartbeat's age counts; it is fresh: still running.
            as_host("etl-a")
            assert history.reconcile_crashed(stale_after=30) == []
            assert history.reconcile_crashed(stale_after=30, now=time.time() + 60) == [
                lost.run_id
            ]
            crashed = history.get_run(lost.run_id)
            assert crashed.status == "crashed"
            assert "no heartbeat" in crashed.error["message"]

            result = CliRunner().invoke(
                app, ["--history", pg_url, "runs", "list", "--host", "etl-a"]
            )
            assert result.exit_code == 0, result.output
            assert result.output.count("etl-a") == 2
            assert "etl-b" not in result.output
            assert lost.run_id not in result.output
        finally:
            history.close()
            if hanging.poll() is None:
                hanging.kill()
                hanging.communicate(timeout=10)
