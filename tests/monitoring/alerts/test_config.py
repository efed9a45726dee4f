"""The ``alerts:`` section: what it accepts, and what it refuses with a fix."""

from __future__ import annotations

import threading
import time

import pytest
from pydantic import ValidationError

from pysetl.errors import ConfigError, RunHistoryError
from pysetl.monitoring.alerts import (
    AlertEngine,
    AlertObserver,
    AlertsSection,
    MetricRule,
    alerts_section,
    build_notifiers,
    parse_duration,
)
from pysetl.monitoring.history import InMemoryRunHistory
from pysetl.monitoring.history.alert_store import AlertStore
from pysetl.runtime import Session

from .test_session_alerts import _config


def _section(**data):
    return AlertsSection.model_validate(data)


class TestDurations:
    @pytest.mark.parametrize(
        ("given", "seconds"),
        [
            (90, 90.0),
            (1.5, 1.5),
            ("90s", 90.0),
            ("15m", 900.0),
            ("4h", 14400.0),
            ("2d", 172800.0),
            ("1w", 604800.0),
            ("30", 30.0),
        ],
    )
    def test_accepted_forms(self, given, seconds):
        assert parse_duration(given) == seconds

    @pytest.mark.parametrize("given", ["soon", "4 hours", True, -5, "1y"])
    def test_refused_forms(self, given):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(given)


class TestRules:
    @pytest.mark.parametrize(
        ("rule", "fix"),
        [
            ({"kind": "duration"}, "give a limit"),
            ({"kind": "metric", "metric": "rows"}, "outside_range"),
            ({"kind": "failure_rate", "above": 0.5}, "exactly one of 'runs'"),
            ({"kind": "absence", "pipeline": "p"}, "exactly one of 'by'"),
            ({"kind": "absence", "pipeline": "p", "by": "6h30"}, "HH:MM"),
            (
                {"kind": "absence", "pipeline": "p", "by": "06:30", "timezone": "Mars"},
                "unknown time zone",
            ),
            ({"kind": "duration", "above": 1, "factory": "x"}, "scope: factory"),
            ({"kind": "duration", "above": 1, "stage": 1}, "scope: stage"),
            ({"kind": "consecutive_failures", "count": 1}, "greater than or equal"),
            ({"kind": "nothing"}, "does not match any of the expected tags"),
        ],
    )
    def test_a_bad_rule_says_what_to_fix(self, rule, fix):
        with pytest.raises(ValidationError, match=fix):
            _section(rules=[{"name": "r", **rule}])

    def test_rule_names_are_unique_and_notify_known_notifiers(self):
        with pytest.raises(ValidationError, match="two rules are named 'r'"):
            _section(rules=[{"name": "r", "kind": "run_failed"}] * 2)
        with pytest.raises(ValidationError, match=r"notifies \['pager'\].*none"):
            _section(rules=[{"name": "r", "kind": "run_failed", "notify": ["pager"]}])

    def test_a_notifier_needs_a_known_type_or_a_class_path(self):
        with pytest.raises(ValidationError, match=r"needs a 'type'.*webhook"):
            _section(notifiers={"x": {"type": "pigeon"}})
        assert _section(notifiers={"x": {"type": "pkg.mod:Cls"}}).notifiers

    def test_metric_names_and_how_they_are_combined(self):
        rows = MetricRule(name="r", kind="metric", metric="rows_out", below=1)
        memory = MetricRule(name="m", kind="metric", metric="driver_memory", above=1)
        kpi = MetricRule(
            name="k", kind="metric", metric="orders", above=1, aggregate="max"
        )
        assert (rows.metric_name, rows.how) == (
            "pysetl_factory_spark_output_records",
            "sum",
        )
        assert (memory.metric_name, memory.how) == (
            "pysetl_factory_peak_rss_bytes",
            "max",
        )
        assert (kpi.metric_name, kpi.how) == ("orders", "max")


class TestNotifiersAndSession:
    def test_a_notifier_that_cannot_be_imported_or_built_is_named(self):
        with pytest.raises(ConfigError, match="'x' of type 'nowhere:Thing'"):
            build_notifiers(_section(notifiers={"x": {"type": "nowhere:Thing"}}))
        with pytest.raises(ConfigError, match=r"'w' .*cannot be built") as caught:
            build_notifiers(
                _section(
                    notifiers={
                        "w": {
                            "type": "webhook",
                            "url": "ftp://x",
                            "secret": "hunter2-secret",
                        }
                    }
                )
            )
        assert "hunter2-secret" not in str(caught.value)
        assert "alerts.notifiers.w" in caught.value.hint

    def test_a_config_without_the_section_is_refused_by_the_commands(self, tmp_path):
        config = _config(tmp_path, "app: {name: x}\n")
        with pytest.raises(ConfigError, match="no 'alerts:' section"):
            alerts_section(config)

    def test_disabled_alerts_register_nothing(self, tmp_path):
        config = _config(tmp_path, "alerts: {enabled: false}\n")
        with Session(config=config, history=InMemoryRunHistory()) as session:
            assert not any(
                isinstance(p, AlertObserver) for p in session.hooks.observers
            )

    def test_alerts_are_off_and_say_so_without_a_history(self, tmp_path, caplog):
        config = _config(tmp_path, "alerts: {rules: [{name: f, kind: run_failed}]}\n")
        with Session(config=config, observe=False) as session:
            (observer,) = [
                p for p in session.hooks.observers if isinstance(p, AlertObserver)
            ]
            assert observer.engine is None
            observer.after_pipeline_run(run_id="R1")  # nothing to do
            assert observer.flush(0.1)
        assert "alerts are off" in caplog.text


class _Stuck:
    """A notifier that ignores its timeout (it waits for the test)."""

    def __init__(self) -> None:
        self.name = "stuck"
        self.release = threading.Event()

    def send(self, messages, *, timeout):
        self.release.wait(10)


class TestBounds:
    def test_a_notifier_that_overruns_its_timeout_is_left_behind(self):
        history = InMemoryRunHistory()
        section = _section(
            notifiers={"stuck": {"type": "x:Y"}},
            rules=[{"name": "f", "kind": "run_failed"}],
            delivery={"timeout": 0.1, "deadline": 0.3},
        )
        stuck = _Stuck()
        engine = AlertEngine(section, history, notifiers={"stuck": stuck})
        history.start_run("R1", "p")
        history.finish_run("R1", "failed")
        started = time.perf_counter()
        outcome = engine.run_ended("R1")
        assert time.perf_counter() - started < 0.3 + 0.1 + 0.5
        stuck.release.set()
        (delivery,) = outcome.deliveries
        assert not delivery.ok
        assert "deadline" in (delivery.error or "")
        assert engine.failures == {"stuck": 1}
        assert engine.run_ended("nope").fired == []


EXIT_SCRIPT = """
import time
from pysetl.monitoring.alerts import AlertEngine, AlertsSection
from pysetl.monitoring.history import InMemoryRunHistory

class Stuck:
    name = "stuck"
    def send(self, messages, *, timeout):
        time.sleep(60)

section = AlertsSection.model_validate({
    "notifiers": {"stuck": {"type": "x:Y"}},
    "rules": [{"name": "f", "kind": "run_failed"}],
    "delivery": {"timeout": 0.1, "deadline": 0.3},
})
history = InMemoryRunHistory()
history.start_run("R1", "p")
history.finish_run("R1", "failed")
AlertEngine(section, history, notifiers={"stuck": Stuck()}).run_ended("R1")
print("evaluated")
"""


def test_a_stuck_notifier_does_not_hold_up_the_process_exit(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "stuck.py"
    script.write_text(EXIT_SCRIPT)
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "evaluated" in done.stdout
    assert time.perf_counter() - started < 20  # not the notifier's 60 s


class TestStore:
    def test_pages_lookups_and_silences(self):
        history = InMemoryRunHistory()
        store = AlertStore(history)
        row = {
            "rule": "r",
            "severity": "info",
            "summary": "s",
            "description": "d",
            "started_at": 1.0,
            "updated_at": 1.0,
        }
        for n in range(3):
            store.open({**row, "key": f"k{n}"})
        first = store.list_alerts(limit=2)
        assert [a.key for a in first.items] == ["k2", "k1"]
        rest = store.list_alerts(limit=2, cursor=first.next_cursor, rule="r")
        assert [a.key for a in rest.items] == ["k0"]
        assert store.last("k1").key == "k1"
        assert store.last("none") is None
        with pytest.raises(RunHistoryError, match="No alert 99"):
            store.get(99)
        with pytest.raises(RunHistoryError, match="Unknown alert event"):
            store.add_event(1, "exploded", ts=1.0)
        for n in range(3):
            store.add_event(1, "fired", ts=float(n))
        page = store.list_events(limit=2)
        assert store.list_events(limit=2, cursor=page.next_cursor).items
        silence = store.add_silence(created_at=0.0, ends_at=100.0, pipeline="p")
        assert silence.matches("any", "p", 50.0)
        assert not silence.matches("any", "q", 50.0)
        assert store.end_silence(silence.id, at=10.0)
        assert not store.end_silence(silence.id, at=20.0)
        assert store.silences(active_at=50.0) == []
        assert repr(store).startswith("AlertStore(")

    def test_only_sql_and_memory_stores_keep_alerts(self):
        with pytest.raises(RunHistoryError, match="cannot store alerts"):
            AlertStore(object())  # type: ignore[arg-type]
