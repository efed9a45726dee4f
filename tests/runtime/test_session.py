"""``pysetl.runtime.Session``: the composition root, on by default, one switch off."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import pytest

from pysetl.config import load_config
from pysetl.errors import (
    ConfigError,
    ConfigLoadError,
    FactoryError,
    PySetlDeprecationWarning,
)
from pysetl.monitoring.history import AddLog, SqliteRunHistory, open_history
from pysetl.runtime import MonitoringSection, RunLogger, Session
from pysetl.workflow import Delivery, Factory, Pipeline
from pysetl.workflow.hooks import reset_default_hook_manager

LOG = logging.getLogger("tests.runtime.user")


class Extract(Factory[int]):
    def read(self) -> Extract:
        LOG.info("reading the numbers")
        return self

    def process(self) -> Extract:
        self.n = 21
        return self

    def write(self) -> Extract:
        return self

    def get(self) -> int:
        return self.n


class Double(Factory[int]):
    n = Delivery[int]()

    def read(self) -> Double:
        LOG.info("doubling %d", self.n.get())
        return self

    def process(self) -> Double:
        msg = "the numbers are wrong"
        raise ValueError(msg)

    def write(self) -> Double:
        return self

    def get(self) -> int:
        return 0


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A fresh project folder as the working directory, recording switched on."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYSETL_OBSERVE", raising=False)
    monkeypatch.delenv("PYSETL_HISTORY_URL", raising=False)
    return tmp_path  # the root conftest resets the default hook manager


def _failing_run() -> str:
    pipeline = Pipeline(name="numbers").add_stage_from_type(Extract)
    pipeline.add_stage_from_type(Double)
    with pytest.raises(FactoryError):
        pipeline.run()
    assert pipeline.run_id is not None
    return pipeline.run_id


class TestOnByDefault:
    def test_a_bare_pipeline_run_records_run_attempts_and_log_lines(self, project):
        run_id = _failing_run()
        reset_default_hook_manager()  # closes the default runtime: all written
        history = open_history(project_dir=project)
        run = history.get_run(run_id)
        assert run.status == "failed"
        assert run.pipeline == "numbers"
        attempts = history.list_factory_attempts(run_id).items
        assert [(a.factory, a.status) for a in attempts] == [
            ("Extract", "succeeded"),
            ("Double", "failed"),
        ]
        assert attempts[1].error["hint"]
        lines = history.search_logs(run_id).items
        user = [(g.factory, g.message) for g in lines if g.logger == LOG.name]
        assert user == [("Extract", "reading the numbers"), ("Double", "doubling 21")]
        errors = [g for g in lines if g.level == "ERROR"]
        assert len(errors) == 1  # logged once
        assert errors[0].factory == "Double"
        assert "the numbers are wrong" in errors[0].message
        assert "hint:" in errors[0].message
        metrics = {m.name for m in history.list_metrics(run_id).items}
        assert "pysetl_factory_cpu_seconds" in metrics
        history.close()
        assert (project / ".pysetl" / "history.db").is_file()

    def test_the_environment_switch_writes_nothing(self, project, monkeypatch):
        monkeypatch.setenv("PYSETL_OBSERVE", "0")
        _failing_run()
        reset_default_hook_manager()
        assert not (project / ".pysetl").exists()

    def test_a_session_records_the_config_version_with_each_run(self, tmp_path):
        conf = tmp_path / "conf"
        (conf / "base").mkdir(parents=True)
        (conf / "base" / "app.yaml").write_text(
            "monitoring:\n  logs:\n    level: INFO\n"
        )
        config = load_config(conf, None)
        url = f"sqlite:///{tmp_path / 'h.db'}"
        with Session(config=config, history=url, observe=True) as session:
            pipeline = session.pipeline("numbers").add_stage_from_type(Extract).run()
        history = SqliteRunHistory(tmp_path / "h.db")
        assert history.get_run(pipeline.run_id).config_version == config.version
        history.close()


class TestOptOut:
    def test_the_config_key_turns_it_off(self, tmp_path, monkeypatch):
        monkeypatch.delenv("PYSETL_OBSERVE", raising=False)
        conf = tmp_path / "conf"
        (conf / "base").mkdir(parents=True)
        (conf / "base" / "m.yaml").write_text("monitoring:\n  enabled: false\n")
        with Session(config=load_config(conf, None), project_dir=tmp_path) as s:
            assert not s.observing
            assert s.history is None
            s.pipeline().add_stage_from_type(Extract).run()
        assert not (tmp_path / ".pysetl").exists()

    def test_the_argument_wins_over_the_environment(self, tmp_path, monkeypatch):
        monkeypatch.setenv("PYSETL_OBSERVE", "1")
        with Session(observe=False, project_dir=tmp_path) as session:
            assert not session.observing
        monkeypatch.setenv("PYSETL_OBSERVE", "0")
        url = f"sqlite:///{tmp_path / 'h.db'}"
        with Session(observe=True, history=url) as session:
            assert session.observing

    def test_the_environment_wins_over_the_config(self, tmp_path, monkeypatch):
        monkeypatch.setenv("PYSETL_OBSERVE", "off")
        conf = tmp_path / "conf"
        (conf / "base").mkdir(parents=True)
        (conf / "base" / "m.yaml").write_text("monitoring:\n  enabled: true\n")
        with Session(config=load_config(conf, None)) as session:
            assert not session.observing


class TestMonitoringSection:
    def test_defaults_record_everything(self):
        section = MonitoringSection()
        assert section.enabled
        assert section.logs.capture
        assert section.metrics.enabled
        assert section.progress.enabled

    def test_a_bad_value_is_located(self, tmp_path):
        conf = tmp_path / "conf"
        (conf / "base").mkdir(parents=True)
        (conf / "base" / "m.yaml").write_text(
            "monitoring:\n  progress:\n    interval: -1\n  logz: {}\n"
        )
        with pytest.raises(ConfigLoadError) as caught:
            Session(config=load_config(conf, None), observe=False)
        keys = {e["key"] for e in caught.value.errors}
        assert keys == {"monitoring.progress.interval", "monitoring.logz"}
        assert all(e["line"] for e in caught.value.errors)

    def test_observers_of_the_config_are_registered(self, tmp_path, monkeypatch):
        (tmp_path / "my_observers.py").write_text(COUNTER)
        monkeypatch.syspath_prepend(str(tmp_path))
        conf = tmp_path / "conf"
        (conf / "base").mkdir(parents=True)
        (conf / "base" / "m.yaml").write_text(
            "monitoring:\n  observers:\n"
            "    - my_observers:Counter\n"
            "    - {class: 'my_observers:Counter', options: {step: 5}}\n"
        )
        with Session(config=load_config(conf, None), observe=False) as session:
            counters = [p for p in session.hooks.observers if hasattr(p, "step")]
            session.pipeline().add_stage_from_type(Extract).run()
            session.hooks.drain()
        assert sorted(c.count for c in counters) == [1, 5]

    def test_an_observer_that_asks_gets_the_session_with_its_history(self, project):
        class Exporter:
            session: Session | None = None
            history_seen: object = None

            def pysetl_attach(self, session: Session) -> None:
                self.session, self.history_seen = session, session.history

        exporter = Exporter()
        with Session(observers=[exporter]) as session:
            assert exporter.session is session
            assert exporter.history_seen is session.history is not None
            assert exporter in session.hooks.observers

    def test_plugins_is_the_deprecated_name_of_observers(self):
        class Quiet:
            """An observer of no event."""

        observer = Quiet()
        with (
            pytest.warns(PySetlDeprecationWarning, match=r"Session\(observers="),
            Session(observe=False, plugins=[observer]) as session,
        ):
            assert observer in session.hooks.observers
        with pytest.raises(TypeError, match="pass observers only"):
            Session(observe=False, observers=[observer], plugins=[observer])

    def test_an_observer_that_cannot_be_imported_names_itself(self, tmp_path):
        conf = tmp_path / "conf"
        (conf / "base").mkdir(parents=True)
        (conf / "base" / "m.yaml").write_text(
            "monitoring:\n  observers: ['nowhere.at_all:Thing']\n"
        )
        with pytest.raises(ConfigError, match=r"nowhere\.at_all:Thing") as caught:
            Session(config=load_config(conf, None), observe=False)
        assert "package.module:Name" in caught.value.hint


COUNTER = """
from pysetl.workflow.hooks import hook_impl


class Counter:
    def __init__(self, step=1):
        self.step = step
        self.count = 0

    @hook_impl
    def after_factory_run(self):
        self.count += self.step
"""


class TestRobustness:
    def test_a_history_that_cannot_be_opened_is_reported_and_the_run_goes_on(
        self, tmp_path, caplog
    ):
        folder = tmp_path / "a-folder"
        folder.mkdir()
        with (
            caplog.at_level(logging.WARNING),
            Session(history=f"sqlite:///{folder}", observe=True) as session,
        ):
            assert not session.observing
            pipeline = session.pipeline().add_stage_from_type(Extract).run()
        assert pipeline.get_last_output() == 21
        assert "cannot be opened" in caplog.text

    def test_a_history_whose_writes_hang_costs_a_bounded_time(self, tmp_path):
        """A held SQLite lock: each try waits the whole busy timeout, then fails.

        Before: the batch was tried four times (4 x 2 s), the end of the run
        waited for them, and the session's close waited again: about 9 s.
        Now a try that failed slowly is not retried and the sink is down:
        one busy timeout (2 s) and a little more.
        """
        path = tmp_path / "h.db"
        SqliteRunHistory(path).close()
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # SQLite's own lock: holds for root too
        try:
            history = SqliteRunHistory(path, busy_timeout=2.0)
            started = time.perf_counter()
            with Session(history=history, observe=True) as session:
                pipeline = session.pipeline().add_stage_from_type(Extract).run()
            elapsed = time.perf_counter() - started
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert pipeline.get_last_output() == 21
        assert elapsed < 2.0 + 1.5
        assert session.writer.failures["pysetl-history"] >= 1
        history.close()

    def test_close_is_bounded_by_its_timeout_when_the_writer_is_stuck(self, tmp_path):
        """Before: each observer's close waited again (10 s each)."""
        path = tmp_path / "h.db"
        SqliteRunHistory(path).close()
        history = SqliteRunHistory(path, busy_timeout=3.0)
        session = Session(history=history, observe=True)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            session.recorder.submit(AddLog(1.0, "INFO", "stuck", None))
            wait_for_writer = time.perf_counter()
            session.close(timeout=0.5)
            elapsed = time.perf_counter() - wait_for_writer
        finally:
            holder.execute("ROLLBACK")
            holder.close()
            history.close()
        assert elapsed < 0.5 + 1.5
        assert session.writer.closed

    def test_close_is_idempotent_restores_logging_and_stops_the_thread(self, tmp_path):
        root = logging.getLogger()
        level, handlers = root.level, list(root.handlers)
        session = Session(history=f"sqlite:///{tmp_path / 'h.db'}", observe=True)
        assert session.observing
        assert len(root.handlers) > len(handlers)
        session.pipeline().add_stage_from_type(Extract).run()
        thread = session.writer._thread
        assert thread is not None
        assert thread.is_alive()
        session.close()
        session.close()
        assert root.level == level
        assert root.handlers == handlers
        assert session.writer.closed
        assert not thread.is_alive()

    def test_close_returns_before_the_history_checkpoint_and_loses_nothing(
        self, tmp_path
    ):
        # Closing the last SQLite connection checkpoints the write-ahead log
        # and syncs the file; Session.close() leaves that to a daemon thread.
        import threading

        path = tmp_path / "h.db"
        session = Session(history=f"sqlite:///{path}", observe=True)
        pipeline = session.pipeline(name="closing").add_stage_from_type(Extract)
        pipeline.run()
        session.close()
        closing = [t for t in threading.enumerate() if t.name == "pysetl-history-close"]
        for thread in closing:
            thread.join(10)
        assert not any(t.is_alive() for t in closing)
        # The log was checkpointed into the file: a plain reader sees the run.
        wal = path.with_name("h.db-wal")
        assert not wal.exists() or wal.stat().st_size == 0
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            found = conn.execute(
                "SELECT status FROM pysetl_runs WHERE run_id = ?", (pipeline.run_id,)
            ).fetchall()
        assert found == [("succeeded",)]

    def test_warnings_still_show_when_the_root_logger_had_no_handler(
        self, tmp_path, capsys
    ):
        root = logging.getLogger()
        saved = list(root.handlers)
        for handler in saved:
            root.removeHandler(handler)
        try:
            with Session(history=f"sqlite:///{tmp_path / 'h.db'}", observe=True):
                LOG.warning("still shown")
                LOG.info("not shown")
        finally:
            for handler in saved:
                root.addHandler(handler)
        err = capsys.readouterr().err
        assert "still shown" in err
        assert "not shown" not in err

    def test_the_run_logger_logs_once_per_failed_factory(self, caplog):
        error = ValueError("plain")
        with caplog.at_level(logging.ERROR, logger="pysetl.run"):
            RunLogger().on_factory_run_failed(
                run_id="R",
                stage_id=0,
                factory_name="F",
                attempt=1,
                phase="read",
                error=error,
            )
        (record,) = caplog.records
        assert record.factory == "F"
        assert "Factory 'F' failed in 'read': ValueError: plain" in record.getMessage()


def test_repr_names_the_history_without_secrets(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'h.db'}"
    with Session(history=url, observe=True) as session:
        assert "h.db" in repr(session)
        assert "observing=True" in repr(session)


class TestLogCaptureNesting:
    def test_overlapping_sessions_keep_capturing_until_the_last_leaves(self, tmp_path):
        root = logging.getLogger()
        level, handlers = root.level, list(root.handlers)
        first = Session(history=f"sqlite:///{tmp_path / 'a.db'}", observe=True)
        second = Session(history=f"sqlite:///{tmp_path / 'b.db'}", observe=True)
        first.close()  # the first to leave must not undo the second's capture
        assert root.level <= logging.INFO
        pipeline = second.pipeline("later").add_stage_from_type(Extract).run()
        history = second.history
        assert history is not None
        second.writer.drain()
        lines = history.search_logs(pipeline.run_id).items
        assert ("Extract", "reading the numbers") in [
            (g.factory, g.message) for g in lines
        ]
        second.close()
        assert root.level == level
        assert root.handlers == handlers

    def test_a_lower_root_level_is_never_raised(self, tmp_path):
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.DEBUG)
        try:
            with Session(history=f"sqlite:///{tmp_path / 'h.db'}", observe=True):
                assert root.level == logging.DEBUG
            assert root.level == logging.DEBUG
        finally:
            root.setLevel(level)
