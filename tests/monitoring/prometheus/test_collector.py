"""The run history's figures as Prometheus metrics (``render_metrics``)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from pysetl.errors import FactoryError
from pysetl.monitoring.history import (
    AddMetric,
    FinishAttempt,
    SqliteRunHistory,
    StartAttempt,
)
from pysetl.monitoring.prometheus import (
    HistoryCollector,
    collect_from_history,
    render_metrics,
)
from pysetl.monitoring.prometheus import _collector as collector_module
from pysetl.runtime import Session
from pysetl.utils.redaction import register_secret, reset_default_redactor
from pysetl.workflow import Delivery, Factory, kpi

from .conftest import Numbers


class Counted(Factory[int]):
    """Records one KPI of each kind."""

    n = Delivery[int]()

    def read(self) -> Counted:
        return self

    def process(self) -> Counted:
        kpi.counter("orders", {"shop": "north"}).inc(5)
        kpi.gauge("lag_seconds").set(2.5)
        batch = kpi.histogram("batch_rows")
        batch.observe(3)
        batch.observe(4)
        return self

    def write(self) -> Counted:
        return self

    def get(self) -> int:
        return self.n.get() * 2


class Broken(Factory[int]):
    """Fails in ``process``."""

    n = Delivery[int]()

    def read(self) -> Broken:
        return self

    def process(self) -> Broken:
        msg = "the numbers are wrong"
        raise ValueError(msg)

    def write(self) -> Broken:
        return self

    def get(self) -> int:
        return 0


@pytest.fixture
def history(tmp_path):
    store = SqliteRunHistory(tmp_path / "history.db")
    yield store
    store.close()


def run(history, name: str, *factories: type[Factory[int]]) -> str:
    with Session(history=history, observe=True) as session:
        pipeline = session.pipeline(name)
        for factory in factories:
            pipeline.add_stage_from_type(factory)
        if Broken in factories:
            with pytest.raises(FactoryError):
                pipeline.run()
        else:
            pipeline.run()
    assert pipeline.run_id is not None
    return pipeline.run_id


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


def value(found, name: str, **labels: str) -> float:
    return found[name, tuple(sorted(labels.items()))]


class TestRenderMetrics:
    def test_a_succeeded_run_gives_its_outcome_durations_and_kpis(self, history):
        run(history, "daily", Numbers, Counted)
        run_record = history.list_runs(pipeline="daily").items[0]
        found = samples(render_metrics(history))
        assert (
            value(
                found,
                "pysetl_pipeline_last_run_status",
                pipeline="daily",
                status="succeeded",
            )
            == 1
        )
        assert (
            value(
                found,
                "pysetl_pipeline_last_run_status",
                pipeline="daily",
                status="failed",
            )
            == 0
        )
        assert value(
            found, "pysetl_pipeline_last_run_duration_seconds", pipeline="daily"
        ) == pytest.approx(run_record.duration)
        assert value(
            found, "pysetl_pipeline_last_success_timestamp_seconds", pipeline="daily"
        ) == pytest.approx(run_record.finished_at)
        assert value(found, "pysetl_pipeline_running", pipeline="daily") == 0
        assert (
            value(
                found,
                "pysetl_pipeline_last_run_factories",
                pipeline="daily",
                status="succeeded",
            )
            == 2
        )
        assert (
            value(found, "pysetl_factory_attempts", pipeline="daily", factory="Counted")
            == 1
        )
        assert (
            value(
                found,
                "pysetl_factory_duration_seconds",
                pipeline="daily",
                factory="Counted",
            )
            > 0
        )
        assert (
            "pysetl_factory_phase_duration_seconds",
            (("factory", "Numbers"), ("phase", "process"), ("pipeline", "daily")),
        ) in found
        assert (
            value(
                found,
                "pysetl_factory_peak_rss_bytes",
                pipeline="daily",
                factory="Numbers",
            )
            > 0
        )
        assert (
            value(
                found,
                "pysetl_kpi_orders",
                pipeline="daily",
                factory="Counted",
                shop="north",
            )
            == 5
        )
        assert (
            value(found, "pysetl_kpi_lag_seconds", pipeline="daily", factory="Counted")
            == 2.5
        )
        assert (
            value(
                found, "pysetl_kpi_batch_rows_sum", pipeline="daily", factory="Counted"
            )
            == 7
        )
        assert (
            value(
                found,
                "pysetl_kpi_batch_rows_count",
                pipeline="daily",
                factory="Counted",
            )
            == 2
        )

    def test_no_label_is_a_run_id(self, history):
        run_id = run(history, "daily", Numbers, Counted)
        text = render_metrics(history).decode()
        assert run_id not in text
        names = {name for (_, labels) in samples(text.encode()) for name, _ in labels}
        assert names <= {"pipeline", "factory", "status", "phase", "shop"}

    def test_a_failed_run_gives_its_failure(self, history):
        run(history, "daily", Numbers)
        run(history, "daily", Numbers, Broken)
        failed = history.list_runs(pipeline="daily", status="failed").items[0]
        found = samples(render_metrics(history))
        assert (
            value(
                found,
                "pysetl_pipeline_last_run_status",
                pipeline="daily",
                status="failed",
            )
            == 1
        )
        assert value(
            found, "pysetl_pipeline_last_failure_timestamp_seconds", pipeline="daily"
        ) == pytest.approx(failed.finished_at)
        assert (
            "pysetl_pipeline_last_success_timestamp_seconds",
            (("pipeline", "daily"),),
        ) in found
        assert (
            value(
                found,
                "pysetl_factory_last_status",
                pipeline="daily",
                factory="Broken",
                status="failed",
            )
            == 1
        )
        assert (
            value(
                found,
                "pysetl_pipeline_last_run_factories",
                pipeline="daily",
                status="failed",
            )
            == 1
        )

    def test_a_retried_factory_counts_once_with_its_last_attempt(self, history):
        from pysetl.workflow.retry import RetryPolicy

        tries: list[int] = []

        class Flaky(Factory[int], retry=RetryPolicy(max_attempts=2, delay=0.0)):
            def read(self) -> Flaky:
                tries.append(1)
                if len(tries) == 1:
                    msg = "first try"
                    raise ConnectionError(msg)
                return self

            def process(self) -> Flaky:
                return self

            def write(self) -> Flaky:
                return self

            def get(self) -> int:
                return 1

        run_id = run(history, "flaky", Flaky, Numbers)
        found = samples(render_metrics(history))
        counted = history.factory_counts([run_id])[run_id]
        for status in ("succeeded", "failed"):
            assert value(
                found,
                "pysetl_pipeline_last_run_factories",
                pipeline="flaky",
                status=status,
            ) == getattr(counted, status)
        assert (counted.succeeded, counted.failed) == (2, 0)
        assert (
            value(found, "pysetl_factory_attempts", pipeline="flaky", factory="Flaky")
            == 2
        )

    def test_every_pipeline_or_only_the_ones_asked_for(self, history):
        run(history, "a", Numbers)
        run(history, "b", Numbers)
        everything = {labels for (_, labels) in samples(render_metrics(history))}
        assert {("pipeline", "a")} < set().union(*map(set, everything))
        only_b = samples(render_metrics(history, pipelines=["b"]))
        assert {dict(labels)["pipeline"] for (_, labels) in only_b} == {"b"}
        assert render_metrics(history, pipelines=["nowhere"]) == b""

    def test_a_running_run_is_shown_live_next_to_the_last_finished_one(self, history):
        run(history, "long", Numbers)
        history.start_run("01RUNNING0000000000000000", "long", started_at=4e9)
        history.apply([StartAttempt("01RUNNING0000000000000000", 0, "Numbers", 1, 4e9)])
        found = samples(render_metrics(history))
        assert value(found, "pysetl_pipeline_running", pipeline="long") == 1
        assert (
            value(
                found, "pysetl_pipeline_run_started_timestamp_seconds", pipeline="long"
            )
            == 4e9
        )
        assert (
            value(
                found,
                "pysetl_pipeline_running_factories",
                pipeline="long",
                status="running",
            )
            == 1
        )
        # the figures of the last finished run are still there
        assert (
            value(
                found,
                "pysetl_pipeline_last_run_status",
                pipeline="long",
                status="succeeded",
            )
            == 1
        )

    def test_a_run_that_never_finished_shows_no_last_run(self, history):
        history.start_run("01RUNNING0000000000000001", "new")
        found = samples(render_metrics(history))
        assert value(found, "pysetl_pipeline_running", pipeline="new") == 1
        assert not [k for k in found if k[0] == "pysetl_pipeline_last_run_status"]

    def test_a_crashed_run_counts_as_a_failure(self, history):
        history.start_run("01CRASHED0000000000000000", "c", started_at=100.0)
        history.mark_crashed("01CRASHED0000000000000000", at=160.0)
        found = samples(render_metrics(history))
        assert (
            value(
                found, "pysetl_pipeline_last_run_status", pipeline="c", status="crashed"
            )
            == 1
        )
        assert (
            value(found, "pysetl_pipeline_last_failure_timestamp_seconds", pipeline="c")
            == 160.0
        )

    def test_a_retried_factory_shows_its_last_attempt_and_value(self, history):
        rid = "01RETRIED0000000000000000"
        history.start_run(rid, "r", started_at=100.0)
        history.apply(
            [
                StartAttempt(rid, 0, "F", 1, 100.0),
                FinishAttempt(rid, 0, "F", 1, "failed", 101.0, 1.0, {"read": 1.0}),
                AddMetric(rid, "pysetl_factory_rows", 1.0, 101.0, "F", {}),
                StartAttempt(rid, 0, "F", 2, 102.0),
                FinishAttempt(rid, 0, "F", 2, "succeeded", 104.0, 2.0, {"read": 2.0}),
                AddMetric(rid, "pysetl_factory_rows", 7.0, 104.0, "F", {}),
                AddMetric(rid, "pysetl_run_duration_seconds", 4.0, 104.0, None, {}),
                AddMetric(rid, "weird", 1.0, 104.0, "F", {"kind": "gauge"}),
                AddMetric(rid, "weird", 1.0, 104.0, "F", {"kind": "histogram"}),
                AddMetric(rid, "untyped_row", 1.0, 104.0, "F", {}),
            ]
        )
        history.finish_run(rid, "succeeded", finished_at=104.0)
        found = samples(render_metrics(history))
        assert value(found, "pysetl_factory_attempts", pipeline="r", factory="F") == 2
        assert (
            value(found, "pysetl_factory_duration_seconds", pipeline="r", factory="F")
            == 2.0
        )
        assert value(found, "pysetl_factory_rows", pipeline="r", factory="F") == 7.0
        # a KPI name used with two kinds keeps its first kind; rows of no kind
        # and no pysetl name, and run-level rows, are not published
        assert value(found, "pysetl_kpi_weird", pipeline="r", factory="F") == 1.0
        assert not [
            k
            for k in found
            if k[0].startswith(("pysetl_kpi_weird_", "untyped", "pysetl_run_"))
        ]

    def test_kpi_labels_are_redacted_and_valid(self, history):
        reset_default_redactor()
        register_secret("hunter2-canary")
        rid = "01SECRET00000000000000000"
        history.start_run(rid, "s", started_at=1.0)
        history.apply(
            [
                AddMetric(
                    rid,
                    "hits",
                    1.0,
                    2.0,
                    "F",
                    {
                        "kind": "counter",
                        "who": "hunter2-canary",
                        "__name__": "x",
                        "shop-name": "n",
                    },
                )
            ]
        )
        history.finish_run(rid, "succeeded", finished_at=2.0)
        try:
            text = render_metrics(history).decode()
        finally:
            reset_default_redactor()
        assert "pysetl_kpi_hits" in text
        assert "hunter2-canary" not in text
        assert 'shop_name="n"' in text
        assert "__name__" not in text

    def test_promtool_accepts_the_output(self, history, tmp_path):
        run(history, "daily", Numbers, Counted)
        run(history, "daily", Numbers, Broken)
        promtool = shutil.which("promtool") or "/usr/bin/promtool"
        checked = subprocess.run(  # noqa: S603 - our own binaries, fixed arguments
            [promtool, "check", "metrics"],
            input=render_metrics(history),
            capture_output=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert not checked.stdout.strip(), checked.stdout  # no lint warning either


class TestCollectFromHistory:
    def test_registers_a_collector_that_reads_at_each_collection(self, history):
        registry = CollectorRegistry(auto_describe=False)
        collector = collect_from_history(history, registry, pipelines=["daily"])
        assert isinstance(collector, HistoryCollector)
        assert collector.describe() == []
        assert (
            registry.get_sample_value("pysetl_pipeline_running", {"pipeline": "daily"})
            is None
        )
        run(history, "daily", Numbers)
        assert (
            registry.get_sample_value("pysetl_pipeline_running", {"pipeline": "daily"})
            == 0
        )


class TestBounds:
    def _big_run(self, history) -> None:
        rid = "01BIG000000000000000000000"
        history.start_run(rid, "big", started_at=1.0)
        ops: list[object] = [
            StartAttempt(rid, 0, f"F{i:04d}", 1, 1.0) for i in range(1001)
        ]
        ops.extend(
            AddMetric(
                rid, "gauge_kpi", float(i), 2.0, "F0000", {"kind": "gauge", "n": str(i)}
            )
            for i in range(1001)
        )
        ops.append(AddMetric(rid, "odd name!", 1.0, 2.0, "F0000", {"kind": "gauge"}))
        history.apply(ops)
        history.finish_run(rid, "failed", finished_at=3.0)

    def test_every_page_of_attempts_and_metrics_is_read(self, history):
        self._big_run(history)
        found = samples(render_metrics(history))
        assert (
            value(found, "pysetl_factory_attempts", pipeline="big", factory="F1000")
            == 1
        )
        assert (
            value(
                found, "pysetl_kpi_gauge_kpi", pipeline="big", factory="F0000", n="1000"
            )
            == 1000
        )
        # an attempt that never finished has no duration, and is not a status
        assert (
            "pysetl_factory_duration_seconds",
            (("factory", "F1000"), ("pipeline", "big")),
        ) not in found
        assert (
            value(found, "pysetl_kpi_odd_name_", pipeline="big", factory="F0000") == 1
        )

    def test_the_metric_rows_read_per_run_are_bounded(self, history, monkeypatch):
        self._big_run(history)
        monkeypatch.setattr(collector_module, "MAX_METRIC_ROWS", 1000)
        found = samples(render_metrics(history))
        assert (
            "pysetl_kpi_gauge_kpi",
            (("factory", "F0000"), ("n", "999"), ("pipeline", "big")),
        ) in found
        assert not [k for k in found if k[0] == "pysetl_kpi_odd_name_"]
