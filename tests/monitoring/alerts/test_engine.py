"""``AlertEngine`` and the rule kinds over a real run history, on a test clock."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest
from tests.monitoring.history.conftest import make_history, pg_url  # noqa: F401

from pysetl.errors import ConfigError
from pysetl.monitoring.alerts import AlertEngine, AlertsSection, evaluate_run
from pysetl.monitoring.history import (
    FinishAttempt,
    FinishStage,
    StartAttempt,
    StartStage,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pysetl.monitoring.alerts import AlertMessage

    from .conftest import Clock


class Recorder:
    """A notifier that records each batch, or raises while ``down``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.batches: list[list[AlertMessage]] = []
        self.down = False
        self.tries = 0

    def send(self, messages: Sequence[AlertMessage], *, timeout: float) -> None:
        self.tries += 1
        if self.down:
            msg = "connection refused by http://user:hunter2@hooks.example/x"
            raise OSError(msg)
        self.batches.append(list(messages))

    @property
    def states(self) -> list[str]:
        return [m.state for batch in self.batches for m in batch]


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def history(request):
    """Every run history that keeps alerts (the stores' contract-suite kinds)."""
    store = make_history(request.param, request)
    yield store
    store.close()


class Runs:
    """Writes ended runs into a history, one a minute on the test clock."""

    def __init__(self, history, clock: Clock) -> None:
        self.history = history
        self.clock = clock
        self.count = 0

    def add(
        self,
        status: str = "succeeded",
        *,
        pipeline: str = "daily",
        seconds: float = 10.0,
        factories: dict[str, float] | None = None,
        metrics: dict[str, float] | None = None,
        message: str = "boom",
    ) -> str:
        self.count += 1
        run_id = f"R{self.count:05d}"
        start = self.clock()
        self.history.start_run(run_id, pipeline, started_at=start)
        ops = [StartStage(run_id, 0, start)]
        for factory, took in (factories or {}).items():
            ops.append(StartAttempt(run_id, 0, factory, 1, start))
            ops.append(
                FinishAttempt(run_id, 0, factory, 1, "succeeded", start + took, took)
            )
        ops.append(FinishStage(run_id, 0, status, start + seconds, seconds))
        self.history.apply(ops)
        for name, value in (metrics or {}).items():
            self.history.record_metric(run_id, name, value, factory="load", ts=start)
        error = (
            {
                "error_type": "FactoryError",
                "message": message,
                "hint": "fix it",
                "factory": "load",
                "causes": [{"error_type": "ValueError"}],
            }
            if status == "failed"
            else None
        )
        self.history.finish_run(
            run_id, status, finished_at=start + seconds, error=error
        )
        self.clock.advance(60)
        return run_id


def _engine(history, clock, rules, **section):
    config = AlertsSection.model_validate(
        {
            "notifiers": {"hook": {"type": "webhook"}, "mail": {"type": "email"}},
            "rules": rules,
            "delivery": {"timeout": 0.2, "retries": 2, "backoff": 0.0, "deadline": 1},
            **section,
        }
    )
    notifiers = {"hook": Recorder("hook"), "mail": Recorder("mail")}
    return AlertEngine(config, history, notifiers=notifiers, clock=clock), notifiers


class TestState:
    def test_fires_once_renotifies_after_the_interval_and_resolves(
        self, history, clock
    ):
        engine, notifiers = _engine(
            history, clock, [{"name": "f", "kind": "run_failed"}], renotify="1h"
        )
        runs = Runs(history, clock)
        first = engine.run_ended(runs.add("failed"))
        assert [a.key for a in first.fired] == ["f|daily"]
        engine.run_ended(runs.add("failed"))
        assert notifiers["hook"].states == ["firing"]
        clock.advance(3600)
        engine.run_ended(runs.add("failed"))
        assert notifiers["hook"].states == ["firing", "firing"]
        done = engine.run_ended(runs.add("succeeded"))
        assert [a.state for a in done.resolved] == ["resolved"]
        assert notifiers["mail"].states == ["firing", "firing", "resolved"]
        message = notifiers["hook"].batches[0][0]
        assert (message.error_class, message.hint, message.factory) == (
            "ValueError",
            "fix it",
            "load",
        )

    def test_an_alert_never_sent_resolves_silently(self, history, clock):
        engine, notifiers = _engine(
            history, clock, [{"name": "f", "kind": "run_failed", "notify": ["hook"]}]
        )
        runs = Runs(history, clock)
        now = clock()
        engine.store.add_silence(created_at=now, ends_at=now + 3600, rule="f")
        outcome = engine.run_ended(runs.add("failed"))
        assert outcome.silenced == ["f|daily"]
        engine.run_ended(runs.add("succeeded"))
        assert notifiers["hook"].batches == []
        assert notifiers["mail"].batches == []

    def test_the_rate_limit_holds_per_notifier(self, history, clock):
        engine, notifiers = _engine(
            history,
            clock,
            [{"name": "f", "kind": "run_failed", "pipelines": ["a", "b", "c"]}],
            rate_limit={"count": 2, "per": "1h"},
        )
        runs = Runs(history, clock)
        for pipeline in ("a", "b", "c"):
            outcome = engine.run_ended(runs.add("failed", pipeline=pipeline))
        assert sorted(outcome.rate_limited) == [("hook", "f|c"), ("mail", "f|c")]
        assert len(notifiers["hook"].batches) == 2

    def test_one_evaluation_groups_alerts_per_notifier(self, history, clock):
        engine, notifiers = _engine(
            history,
            clock,
            [
                {"name": "f", "kind": "run_failed"},
                {"name": "g", "kind": "consecutive_failures", "count": 2},
            ],
        )
        runs = Runs(history, clock)
        engine.run_ended(runs.add("failed"))
        engine.run_ended(runs.add("failed"))
        assert [len(b) for b in notifiers["hook"].batches] == [1, 1]
        engine.run_ended(runs.add("succeeded"))
        assert [len(b) for b in notifiers["hook"].batches] == [1, 1, 2]


class TestDelivery:
    def test_a_failing_notifier_is_retried_counted_logged_once_and_redacted(
        self, history, clock, caplog
    ):
        engine, notifiers = _engine(
            history, clock, [{"name": "f", "kind": "run_failed"}]
        )
        notifiers["hook"].down = True
        runs = Runs(history, clock)
        with caplog.at_level(logging.WARNING):
            first = engine.run_ended(runs.add("failed", pipeline="a"))
            engine.run_ended(runs.add("failed", pipeline="b"))
        assert notifiers["hook"].tries == 6  # 1 + 2 retries, twice
        assert engine.failures == {"hook": 2}
        assert engine.sent == {"mail": 2}
        warned = [r for r in caplog.records if "notifier 'hook'" in r.getMessage()]
        assert len(warned) == 1
        assert "hunter2" not in caplog.text
        (failed,) = [d for d in first.deliveries if not d.ok]
        assert failed.tries == 3
        assert "hunter2" not in (failed.error or "")
        events = engine.store.list_events(alert_id=first.fired[0].id).items
        assert {e.kind for e in events} == {"fired", "notified", "delivery_failed"}
        assert all("hunter2" not in (e.detail or "") for e in events)

    def test_an_alert_no_notifier_received_is_sent_at_the_next_evaluation(
        self, history, clock
    ):
        engine, notifiers = _engine(
            history, clock, [{"name": "f", "kind": "run_failed", "notify": ["hook"]}]
        )
        notifiers["hook"].down = True
        runs = Runs(history, clock)
        (first,) = engine.run_ended(runs.add("failed")).deliveries
        assert not first.ok
        notifiers["hook"].down = False
        outcome = engine.run_ended(runs.add("failed"))
        assert outcome.fired == []  # the same alert, still firing
        assert notifiers["hook"].states == ["firing"]
        engine.run_ended(runs.add("failed"))
        assert notifiers["hook"].states == ["firing"]  # delivered: deduplicated

    def test_the_test_message_reaches_the_named_notifiers(self, history, clock):
        engine, notifiers = _engine(history, clock, [])
        (delivery,) = engine.test(["mail"])
        assert delivery.ok
        assert notifiers["mail"].batches[0][0].rule == "pysetl-test"
        assert notifiers["hook"].batches == []
        with pytest.raises(ConfigError, match="'pager'"):
            engine.test(["pager"])


class TestFailureRules:
    def test_consecutive_failures(self, history, clock):
        engine, _ = _engine(
            history, clock, [{"name": "c", "kind": "consecutive_failures", "count": 3}]
        )
        runs = Runs(history, clock)
        for _ in range(2):
            assert not engine.run_ended(runs.add("failed")).fired
        assert engine.run_ended(runs.add("failed")).fired
        assert engine.run_ended(runs.add("succeeded")).resolved

    def test_failure_rate_over_runs_and_over_a_window(self, history, clock):
        engine, _ = _engine(
            history,
            clock,
            [
                {"name": "r", "kind": "failure_rate", "above": 0.5, "runs": 4},
                {"name": "w", "kind": "failure_rate", "above": 0.4, "window": "3m"},
            ],
        )
        runs = Runs(history, clock)
        for status in ("succeeded", "succeeded", "failed", "failed"):
            outcome = engine.run_ended(runs.add(status))
        assert sorted(outcome.firing) == ["w|daily"]  # 2 of 3 within 3 min
        outcome = engine.run_ended(runs.add("failed"))
        assert sorted(outcome.firing) == ["r|daily", "w|daily"]


class TestNewError:
    def test_fires_on_an_error_never_seen_and_not_on_a_known_one(self, history, clock):
        engine, notifiers = _engine(
            history, clock, [{"name": "new", "kind": "new_error", "notify": ["hook"]}]
        )
        runs = Runs(history, clock)
        first = engine.run_ended(runs.add("failed", message="row 12 is bad"))
        assert [a.key for a in first.fired] == ["new|daily"]
        assert "ValueError" in first.fired[0].description
        assert engine.run_ended(runs.add("succeeded")).resolved
        # the same error again (another row number: the same fingerprint)
        again = engine.run_ended(runs.add("failed", message="row 99 is bad"))
        assert not again.fired
        assert not again.firing
        other = engine.run_ended(runs.add("failed", message="disk full on /data"))
        assert [a.key for a in other.fired] == ["new|daily"]
        assert notifiers["hook"].states == ["firing", "resolved", "firing"]

    def test_an_error_older_than_the_lookback_is_new_again(self, history, clock):
        engine, _ = _engine(
            history,
            clock,
            [{"name": "new", "kind": "new_error", "lookback": "2m"}],
        )
        runs = Runs(history, clock)
        assert engine.run_ended(runs.add("failed")).fired
        engine.run_ended(runs.add("succeeded"))
        clock.advance(600)  # ten minutes later: beyond the lookback
        assert engine.run_ended(runs.add("failed")).fired


class TestThresholdRules:
    def test_run_duration_above_a_limit_and_above_its_median(self, history, clock):
        engine, _ = _engine(
            history,
            clock,
            [
                {"name": "limit", "kind": "duration", "above": "1m"},
                {"name": "median", "kind": "duration", "above_median": 2, "runs": 5},
            ],
        )
        runs = Runs(history, clock)
        for _ in range(3):
            assert not engine.run_ended(runs.add(seconds=10)).firing
        outcome = engine.run_ended(runs.add(seconds=30))
        assert sorted(outcome.firing) == ["median|daily"]
        assert "above 2 x the median 10" in outcome.fired[0].summary
        outcome = engine.run_ended(runs.add(seconds=90))
        assert sorted(outcome.firing) == ["limit|daily", "median|daily"]
        assert sorted(a.key for a in engine.run_ended(runs.add()).resolved) == [
            "limit|daily",
            "median|daily",
        ]

    def test_factory_duration_above_its_p95_names_the_factory(self, history, clock):
        engine, _ = _engine(
            history,
            clock,
            [{"name": "p", "kind": "duration", "scope": "factory", "above_p95": 1.5}],
        )
        runs = Runs(history, clock)
        for took in (4, 5, 6):
            engine.run_ended(runs.add(factories={"load": took, "save": 1}))
        outcome = engine.run_ended(runs.add(factories={"load": 10, "save": 1}))
        (alert,) = outcome.fired
        assert (alert.key, alert.factory) == ("p|daily|load", "load")

    def test_stage_duration(self, history, clock):
        engine, _ = _engine(
            history,
            clock,
            [
                {
                    "name": "s",
                    "kind": "duration",
                    "scope": "stage",
                    "stage": 0,
                    "above": 20,
                }
            ],
        )
        runs = Runs(history, clock)
        (alert,) = engine.run_ended(runs.add(seconds=25)).fired
        assert alert.labels["stage"] == "0"

    def test_rows_dropping_to_zero_and_a_kpi_outside_its_range(self, history, clock):
        engine, _ = _engine(
            history,
            clock,
            [
                {
                    "name": "rows",
                    "kind": "metric",
                    "metric": "rows_out",
                    "below_median": 0.5,
                },
                {
                    "name": "kpi",
                    "kind": "metric",
                    "metric": "orders",
                    "outside_range": 0.1,
                },
            ],
        )
        runs = Runs(history, clock)
        for rows, orders in ((1000, 50), (1100, 55), (900, 52)):
            engine.run_ended(
                runs.add(
                    metrics={
                        "pysetl_factory_spark_output_records": rows,
                        "orders": orders,
                    }
                )
            )
        # Zero output records are not recorded at all: absent means zero.
        outcome = engine.run_ended(runs.add(metrics={"orders": 80}))
        assert sorted(outcome.firing) == ["kpi|daily", "rows|daily"]

    def test_failed_runs_are_left_to_the_failure_rules(self, history, clock):
        engine, _ = _engine(
            history, clock, [{"name": "d", "kind": "duration", "above": 1}]
        )
        runs = Runs(history, clock)
        assert not engine.run_ended(runs.add("failed", seconds=50)).firing
        assert (
            evaluate_run(
                engine.section.rules, history, history.get_run("R00001"), now=clock()
            )
            == []
        )


class TestAbsence:
    def test_within_a_window(self, history, clock):
        engine, notifiers = _engine(
            history,
            clock,
            [{"name": "late", "kind": "absence", "pipeline": "daily", "within": "2h"}],
        )
        runs = Runs(history, clock)
        runs.add()
        clock.advance(3600)
        assert not engine.check().firing
        clock.advance(2 * 3600)
        outcome = engine.check()
        assert sorted(outcome.firing) == ["late|daily"]
        assert "has not succeeded within 2h" in outcome.fired[0].summary
        assert engine.check().fired == []  # still firing, not sent again
        assert notifiers["hook"].states == ["firing"]
        engine.run_ended(runs.add())  # the success resolves it
        assert notifiers["hook"].states == ["firing", "resolved"]

    def test_by_a_time_of_day(self, history, clock):
        engine, notifiers = _engine(
            history,
            clock,
            [
                {
                    "name": "by6",
                    "kind": "absence",
                    "pipeline": "daily",
                    "by": "06:00",
                    "timezone": "Europe/Paris",
                }
            ],
        )
        from datetime import datetime
        from zoneinfo import ZoneInfo

        paris = ZoneInfo("Europe/Paris")
        clock.now = datetime(2026, 12, 3, 5, 0, tzinfo=paris).timestamp()
        runs = Runs(history, clock)
        assert engine.check().fired == []  # before the deadline: nothing to say
        clock.now = datetime(2026, 12, 3, 6, 1, tzinfo=paris).timestamp()
        assert [a.key for a in engine.check().fired] == ["by6|daily"]
        runs.add()  # it ran late, at 06:01
        assert [a.key for a in engine.check().resolved] == ["by6|daily"]
        clock.now = datetime(2026, 12, 4, 5, 0, tzinfo=paris).timestamp()
        assert not engine.check().fired
        clock.now = datetime(2026, 12, 4, 6, 30, tzinfo=paris).timestamp()
        assert [a.key for a in engine.check().fired] == ["by6|daily"]
        assert notifiers["mail"].states == ["firing", "resolved", "firing"]
