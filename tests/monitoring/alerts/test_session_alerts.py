"""Alerts end to end: config ``alerts:``, real runs through a Session, real HTTP."""

from __future__ import annotations

import time

import pytest

from pysetl.config import load_config
from pysetl.errors import FactoryError
from pysetl.monitoring.history import SqliteRunHistory
from pysetl.monitoring.history.alert_store import AlertStore
from pysetl.runtime import Session

from .conftest import Double, Extract

CONFIG = """
alerts:
  dashboard_url: http://dash.example:8765
  delivery: {{timeout: 0.5, retries: 1, backoff: 0.05, deadline: 1.0}}
  notifiers:
    hook: {{type: "{sinks}", url: "{url}/hook"}}
    mail: {{type: "{sinks}", url: "{url}/mail"}}
    am: {{type: "{sinks}", url: "{url}/am"}}
  rules:
    - {{name: failed, kind: run_failed, notify: [hook, mail, am]}}
"""


def _config(tmp_path, text):
    conf = tmp_path / "conf"
    (conf / "base").mkdir(parents=True, exist_ok=True)
    (conf / "base" / "alerts.yaml").write_text(text)
    return load_config(conf, None)


def _run(config, url, *, broken):
    """One run in its own session (as one ``pysetl run`` process); its id."""
    Double.broken = broken
    with Session(config=config, history=url, observe=True) as session:
        pipeline = session.pipeline("numbers").add_stage_from_type(Extract)
        pipeline.add_stage_from_type(Double)
        if broken:
            with pytest.raises(FactoryError):
                pipeline.run()
        else:
            pipeline.run()
    Double.broken = False
    return pipeline.run_id


class TestFailureAlert:
    def test_fires_once_resolves_then_a_silenced_failure_is_not_sent(
        self, tmp_path, receiver, sinks
    ):
        config = _config(tmp_path, CONFIG.format(sinks=sinks, url=receiver.url))
        url = f"sqlite:///{tmp_path / 'h.db'}"

        failed = _run(config, url, broken=True)
        for path in ("/hook", "/mail", "/am"):
            (batch,) = receiver.bodies(path)
            (message,) = batch
            assert message["state"] == "firing"
            assert message["run_id"] == failed
            assert message["pipeline"] == "numbers"
            assert message["error_class"] == "ValueError"
            assert message["url"] == f"http://dash.example:8765/#/runs/{failed}"

        _run(config, url, broken=True)  # still failing: deduplicated
        assert len(receiver.posts) == 3

        good = _run(config, url, broken=False)
        for path in ("/hook", "/mail", "/am"):
            assert [m["state"] for b in receiver.bodies(path) for m in b] == [
                "firing",
                "resolved",
            ]
            assert receiver.bodies(path)[-1][0]["run_id"] == good

        history = SqliteRunHistory(tmp_path / "h.db")
        store = AlertStore(history)
        now = time.time()
        store.add_silence(created_at=now - 1, ends_at=now + 3600, pipeline="numbers")
        third = _run(config, url, broken=True)
        assert len(receiver.posts) == 6  # not sent

        alerts = store.list_alerts().items
        assert [a.state for a in alerts] == ["firing", "resolved"]
        assert alerts[0].run_id == third
        kinds = [e.kind for e in store.list_events(alert_id=alerts[1].id).items]
        assert sorted(kinds) == sorted(["fired", *["notified"] * 6, "resolved"])
        assert [e.kind for e in store.list_events(alert_id=alerts[0].id).items] == [
            "silenced",
            "fired",
        ]
        history.close()


class TestNotifierDown:
    def test_a_hanging_notifier_costs_the_run_its_deadline_and_is_recorded(
        self, tmp_path, receiver, sinks
    ):
        import threading

        receiver.hang = threading.Event()
        config = _config(tmp_path, CONFIG.format(sinks=sinks, url=receiver.url))
        url = f"sqlite:///{tmp_path / 'h.db'}"
        started = time.perf_counter()
        _run(config, url, broken=True)
        elapsed = time.perf_counter() - started
        # The deadline is 1 s; the session's close waits at most deadline + 0.5.
        assert elapsed < 1.0 + 0.5 + 1.5  # slack for a loaded machine
        history = SqliteRunHistory(tmp_path / "h.db")
        store = AlertStore(history)
        (alert,) = store.list_alerts().items
        failures = [
            e
            for e in store.list_events(alert_id=alert.id).items
            if e.kind == "delivery_failed"
        ]
        assert sorted(e.notifier for e in failures) == ["am", "hook", "mail"]
        assert all(
            "deadline" in (e.detail or "") or "timed out" in (e.detail or "")
            for e in failures
        )
        history.close()

    def test_a_refused_connection_is_retried_then_recorded(self, tmp_path, sinks):
        config = _config(tmp_path, CONFIG.format(sinks=sinks, url="http://127.0.0.1:9"))
        url = f"sqlite:///{tmp_path / 'h.db'}"
        _run(config, url, broken=True)
        history = SqliteRunHistory(tmp_path / "h.db")
        store = AlertStore(history)
        (alert,) = store.list_alerts().items
        assert alert.last_notified_at is None
        failures = [
            e
            for e in store.list_events(alert_id=alert.id).items
            if e.kind == "delivery_failed"
        ]
        assert len(failures) == 3
        assert all("URLError" in (e.detail or "") for e in failures)
        history.close()
