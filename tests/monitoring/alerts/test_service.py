"""What ``pysetl alerts`` and ``pysetl ui --alerts`` call, from Python."""

from __future__ import annotations

import pytest

from pysetl.errors import ConfigError
from pysetl.monitoring.alerts import (
    AlertWatcher,
    alert_timeline,
    open_alert_history,
    project_alerts,
    silence,
)
from pysetl.monitoring.history import InMemoryRunHistory, SqliteRunHistory
from pysetl.monitoring.history.alert_store import AlertStore

RULES = """\
alerts:
  rules:
    - {name: nightly-missing, kind: absence, pipeline: nightly, within: 1h}
"""


@pytest.fixture
def conf(tmp_path):
    base = tmp_path / "conf" / "base"
    base.mkdir(parents=True)
    (base / "alerts.yaml").write_text(RULES)
    return tmp_path / "conf"


class _Config:
    def __init__(self, history):
        self.history = history

    def get(self, key):
        return {"history": self.history} if key == "monitoring" else None


class TestOpenAlertHistory:
    def test_the_url_given_wins(self, tmp_path):
        given = f"sqlite:///{tmp_path / 'given.db'}"
        with open_alert_history(given, _Config("memory://")) as history:
            assert isinstance(history, SqliteRunHistory)

    def test_else_the_config_s_monitoring_history(self):
        with open_alert_history(None, _Config("memory://")) as history:
            assert isinstance(history, InMemoryRunHistory)


class TestTimelineAndSilence:
    def test_a_silence_is_stored_with_its_author_and_end(self):
        history = InMemoryRunHistory()
        made = silence(
            history, seconds=60, rule="late", comment="why", now=1000.0, author="me"
        )
        (stored,) = AlertStore(history).silences(active_at=1030.0)
        assert stored.id == made.id
        assert (stored.rule, stored.author, stored.ends_at) == ("late", "me", 1060.0)

    def test_the_events_of_an_alert_oldest_first(self, conf, tmp_path):
        url = f"sqlite:///{tmp_path / 'h.db'}"
        watcher = AlertWatcher.open(conf, history_url=url, interval=60)
        try:
            watcher.engine.check()
        finally:
            watcher.close()
        with open_alert_history(url) as history:
            (alert,) = AlertStore(history).list_alerts().items
            timeline = alert_timeline(history, alert.id)
        assert timeline.alert.rule == "nightly-missing"
        times = [event.ts for event in timeline.events]
        assert times == sorted(times)
        assert timeline.events


class TestAlertWatcher:
    def test_checks_on_its_thread_until_closed(self, conf, tmp_path):
        url = f"sqlite:///{tmp_path / 'h.db'}"
        watcher = AlertWatcher.open(conf, history_url=url, interval=60)
        watcher.start()
        watcher.close()
        with open_alert_history(url) as history:
            assert [a.rule for a in AlertStore(history).list_alerts().items] == [
                "nightly-missing"
            ]

    def test_a_config_without_alerts_fails_before_anything_starts(self, tmp_path):
        (tmp_path / "conf" / "base").mkdir(parents=True)
        url = f"sqlite:///{tmp_path / 'h.db'}"
        with pytest.raises(ConfigError, match="no 'alerts:' section"):
            AlertWatcher.open(tmp_path / "conf", history_url=url)


class TestProjectAlerts:
    def test_the_engine_over_the_history_given(self, conf, tmp_path):
        url = f"sqlite:///{tmp_path / 'h.db'}"
        with project_alerts(conf, history_url=url) as engine:
            outcome = engine.check()
        assert [alert.rule for alert in outcome.fired] == ["nightly-missing"]

    def test_a_config_without_alerts_closes_the_history(self, tmp_path, monkeypatch):
        (tmp_path / "conf" / "base").mkdir(parents=True)
        closed = []
        monkeypatch.setattr(InMemoryRunHistory, "close", lambda _self: closed.append(1))
        with (
            pytest.raises(ConfigError, match="no 'alerts:' section"),
            project_alerts(tmp_path / "conf", history_url="memory://"),
        ):
            pass  # pragma: no cover - the block is never entered
        assert closed == [1]
