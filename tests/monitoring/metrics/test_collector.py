"""MetricsCollector without Spark: phases, CPU, memory, KPIs, profiles, history."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from pysetl.errors import FactoryError
from pysetl.monitoring import MetricsCollector, kpi
from pysetl.monitoring.history import InMemoryRunHistory
from pysetl.monitoring.metrics import METRIC_NAMES
from pysetl.monitoring.metrics._state import samples
from pysetl.utils.writer import BackgroundWriter
from pysetl.workflow import Delivery, Factory, HookManager, Pipeline, Stage


def _burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


class Extract(Factory[list[int]]):
    def read(self) -> Extract:
        return self

    def process(self) -> Extract:
        _burn(0.02)
        kpi.counter("rows_rejected", {"reason": "null"}).inc(2)
        kpi.counter("rows_rejected", {"reason": "null"}).inc(3)
        kpi.gauge("late_ratio").set(0.5)
        kpi.gauge("late_ratio").set(0.25)
        kpi.histogram("batch_size").observe(4)
        kpi.histogram("batch_size").observe(10)
        return self

    def write(self) -> Extract:
        return self

    def get(self) -> list[int]:
        return [1, 2, 3]


class Load(Factory[int]):
    rows = Delivery[list[int]]()

    def read(self) -> Load:
        return self

    def process(self) -> Load:
        time.sleep(0.03)
        return self

    def write(self) -> Load:
        return self

    def get(self) -> int:
        return len(self.rows.get())


class Sleep(Factory[int]):
    def read(self) -> Sleep:
        return self

    def process(self) -> Sleep:
        time.sleep(0.03)
        return self

    def write(self) -> Sleep:
        return self

    def get(self) -> int:
        return 0


class _SlowCount:
    gate = threading.Event()

    def count(self) -> int:
        self.gate.wait(5)
        return 7


class Slow(Factory[_SlowCount]):
    def read(self) -> Slow:
        return self

    def process(self) -> Slow:
        return self

    def write(self) -> Slow:
        return self

    def get(self) -> _SlowCount:
        return _SlowCount()


class Broken(Factory[int]):
    def read(self) -> Broken:
        return self

    def process(self) -> Broken:
        msg = "bad row"
        raise ValueError(msg)

    def write(self) -> Broken:
        return self

    def get(self) -> int:
        return 0


class LongSleep(Sleep):
    def process(self) -> LongSleep:
        time.sleep(0.3)
        return self


def _run(collector: MetricsCollector, *types: type[Factory[Any]]) -> Pipeline:
    pipeline = Pipeline(hooks=HookManager(observers=[collector], inline=True))
    for tp in types:
        pipeline.add_stage_from_type(tp)
    return pipeline.run()


class TestFactoryMetrics:
    def test_each_attempt_gets_phases_cpu_and_memory(self):
        collector = MetricsCollector(spark=False)
        pipeline = _run(collector, Extract, Load)
        summary = collector.summary(pipeline.run_id)
        assert summary.status == "succeeded"
        assert summary.duration_seconds is not None
        extract, load = summary.factories
        assert (extract.factory, extract.stage_id, extract.attempt) == ("Extract", 0, 1)
        assert set(extract.phases) == {"read", "process", "write", "get"}
        assert extract.cpu_seconds is not None
        assert extract.cpu_seconds >= 0.015
        assert load.cpu_seconds is not None
        assert load.cpu_seconds < 0.02  # it slept
        assert load.phases["process"] >= 0.03
        assert extract.peak_rss_bytes is not None
        assert extract.peak_rss_bytes > 0
        assert extract.rss_growth_bytes is not None
        assert extract.spark is None
        assert extract.rows is None
        assert extract.status == "succeeded"
        assert extract.started_at <= load.started_at

    def test_kpis_are_aggregated_per_attempt(self):
        collector = MetricsCollector(spark=False)
        pipeline = _run(collector, Extract, Load)
        extract, load = collector.summary(pipeline.run_id).factories
        kpis = {k.name: k for k in extract.kpis}
        assert kpis["rows_rejected"].value == 5
        assert kpis["rows_rejected"].labels == (("reason", "null"),)
        assert kpis["late_ratio"].value == 0.25
        assert (kpis["late_ratio"].minimum, kpis["late_ratio"].maximum) == (0.25, 0.5)
        assert kpis["batch_size"].value == 14
        assert kpis["batch_size"].count == 2
        assert load.kpis == ()

    def test_a_failed_attempt_is_measured_with_its_phase(self):
        collector = MetricsCollector(spark=False)
        pipeline = Pipeline(hooks=HookManager(observers=[collector], inline=True))
        with pytest.raises(FactoryError):
            pipeline.add_stage_from_type(Broken).run()
        summary = collector.summary(pipeline.run_id)
        assert summary.status == "failed"
        (broken,) = summary.factories
        assert broken.status == "failed"
        assert broken.failed_phase == "process"
        assert "failed" in broken.phases

    def test_it_asks_for_inline_delivery_on_a_background_manager(self):
        collector = MetricsCollector(spark=False)
        with HookManager(observers=[collector]) as hooks:
            pipeline = Pipeline(hooks=hooks).add_stage_from_type(Extract).run()
        (extract,) = collector.summary(pipeline.run_id).factories
        assert extract.cpu_seconds is not None
        assert len(extract.kpis) == 3

    def test_background_delivery_measures_all_but_cpu(self):
        collector = MetricsCollector(spark=False, profile=True, inline=False)
        with HookManager(observers=[collector]) as hooks:
            pipeline = Pipeline(hooks=hooks).add_stage_from_type(Extract).run()
        (extract,) = collector.summary(pipeline.run_id).factories
        assert extract.cpu_seconds is None
        assert extract.profile == ()
        assert extract.duration_seconds > 0
        assert len(extract.kpis) == 3

    def test_parallel_factories_each_get_their_own_cpu(self):
        class Other(Extract):
            pass

        collector = MetricsCollector(spark=False)
        stage = Stage(parallel=True)
        stage.add_factory_from_type(Extract).add_factory_from_type(Other)
        hooks = HookManager(observers=[collector], inline=True)
        pipeline = Pipeline(hooks=hooks).add_stage(stage).run()
        factories = collector.summary(pipeline.run_id).factories
        assert sorted(m.factory for m in factories) == ["Extract", "Other"]
        for metrics in factories:
            assert metrics.cpu_seconds is not None
            assert metrics.cpu_seconds >= 0.015


class TestSummary:
    def test_names_the_slowest_factories_and_phases(self):
        collector = MetricsCollector(spark=False, top=1)
        # Extract burns 20 ms of CPU: on a loaded machine its wall time can
        # pass a short sleep, so the slow one sleeps well beyond that.
        pipeline = _run(collector, Extract, LongSleep)
        summary = collector.summary(pipeline.run_id)
        assert [m.factory for m in summary.slowest_factories] == ["LongSleep"]
        assert summary.slowest_phases[0][:2] == ("LongSleep", "process")
        assert summary.totals["factories"] == 2
        assert summary.totals["cpu_seconds"] > 0
        text = str(summary)
        assert pipeline.run_id in text
        assert "slowest factories:" in text
        assert "LongSleep" in text
        assert collector.run_ids == [pipeline.run_id]

    def test_an_unknown_run_is_a_key_error_that_says_why(self):
        with pytest.raises(KeyError, match="was it registered"):
            MetricsCollector(spark=False).summary("01NOPE")

    def test_only_the_latest_runs_are_kept(self):
        collector = MetricsCollector(spark=False, keep_runs=2)
        ids = [_run(collector, Sleep).run_id for _ in range(3)]
        collector.flush()
        assert collector.run_ids == ids[1:]


class TestProfiling:
    def test_only_the_named_factories_are_profiled(self):
        collector = MetricsCollector(spark=False, profile={"Extract"}, profile_lines=3)
        pipeline = _run(collector, Extract, Load)
        summary = collector.summary(pipeline.run_id)
        extract, load = summary.factories
        assert load.profile == ()
        assert load.python_peak_bytes is None
        assert 0 < len(extract.profile) <= 3
        assert any("_burn" in line.function for line in extract.profile)
        assert extract.python_peak_bytes is not None
        assert summary.profile is not None
        assert summary.profile[0] == "Extract"
        assert "top functions of Extract:" in str(summary)

    def test_profiling_keeps_an_outer_tracemalloc_running(self):
        import tracemalloc

        tracemalloc.start()
        try:
            collector = MetricsCollector(spark=False, profile=True)
            pipeline = _run(collector, Extract)
            assert tracemalloc.is_tracing()
        finally:
            tracemalloc.stop()
        (extract,) = collector.summary(pipeline.run_id).factories
        assert extract.python_peak_bytes is not None


class TestHistory:
    def test_keep_runs_zero_keeps_nothing_in_memory_and_writes_everything(self):
        history = InMemoryRunHistory()
        collector = MetricsCollector(spark=False, history=history, keep_runs=0)
        pipeline = _run(collector, Extract, Load)
        collector.flush()
        assert collector.run_ids == []
        with pytest.raises(KeyError, match="No metrics for run"):
            collector.summary(pipeline.run_id)
        names = {m.name for m in history.list_metrics(pipeline.run_id).items}
        assert {"pysetl_factory_cpu_seconds", "pysetl_run_duration_seconds"} <= names
        assert "rows_rejected" in names

    def test_metrics_are_written_with_their_labels(self):
        history = InMemoryRunHistory()
        collector = MetricsCollector(spark=False, history=history)
        pipeline = _run(collector, Extract, Load)
        collector.flush()
        rows = history.list_metrics(pipeline.run_id, limit=1000).items
        names = {row.name for row in rows}
        # Durations are on the attempts' rows, not copied as metrics (0.4).
        assert "pysetl_factory_duration_seconds" not in names
        assert "pysetl_factory_phase_duration_seconds" not in names
        assert "pysetl_factory_cpu_seconds" in names
        assert "pysetl_run_duration_seconds" in names
        assert {"rows_rejected", "batch_size", "batch_size_count"} <= names
        kpis = {"rows_rejected", "batch_size", "batch_size_count", "late_ratio"}
        assert names - kpis <= set(METRIC_NAMES)
        cpu = next(
            r
            for r in rows
            if r.name == "pysetl_factory_cpu_seconds" and r.factory == "Load"
        )
        assert cpu.labels == {}
        rejected = next(r for r in rows if r.name == "rows_rejected")
        assert rejected.value == 5
        assert rejected.labels["reason"] == "null"
        assert rejected.labels["kind"] == "counter"


class Secretive(Sleep):
    def process(self) -> Secretive:
        kpi.counter("logins", {"password": "hunter2-canary"}).inc()
        return self


class TestRedaction:
    def test_kpi_labels_that_are_secrets_are_masked_in_summary_and_history(self):
        history = InMemoryRunHistory()
        collector = MetricsCollector(spark=False, history=history)
        pipeline = _run(collector, Secretive)
        (metrics,) = collector.summary(pipeline.run_id).factories
        assert "hunter2-canary" not in repr(metrics.kpis)
        rows = history.list_metrics(pipeline.run_id, name="logins").items
        assert rows
        assert "hunter2-canary" not in repr(rows)


class _FailingHistory(InMemoryRunHistory):
    def _apply(self, ops: Any) -> None:  # every write: apply() and the writer's
        msg = "store down"
        raise OSError(msg)


class _NotASparkContext:
    """A SparkContext whose driver cannot be reached (its JVM is gone)."""

    @property
    def _jsc(self) -> Any:
        msg = "Spark REST unreachable"
        raise ConnectionError(msg)


class TestRobustness:
    def test_a_failing_store_or_spark_lookup_never_fails_the_run(self, caplog):
        writer = BackgroundWriter(retries=1, backoff=0.001)
        collector = MetricsCollector(
            history=_FailingHistory(),
            spark_context=_NotASparkContext(),
            writer=writer,
        )
        with caplog.at_level(logging.WARNING):
            pipeline = _run(collector, Extract, Load)
        summary = collector.summary(pipeline.run_id)
        assert len(summary.factories) == 2
        assert summary.factories[0].spark is None
        assert collector.errors >= 2  # the two lookups
        assert writer.failures["pysetl-history"] >= 1  # at least one batch
        assert "pysetl observer pysetl-history failed" in caplog.text
        assert "Spark REST unreachable" in caplog.text
        writer.close()

    def test_rows_of_an_output_that_cannot_count_are_left_out(self):
        collector = MetricsCollector(spark=False, count_rows={"Extract"})
        pipeline = _run(collector, Extract)
        (extract,) = collector.summary(pipeline.run_id).factories
        assert extract.rows is None  # a list has no count()... of rows
        assert collector.errors == 1

    def test_a_full_queue_drops_and_counts(self, caplog):
        collector = MetricsCollector(
            spark=False, count_rows=True, writer=BackgroundWriter(max_pending=1)
        )
        _SlowCount.gate.clear()
        with caplog.at_level(logging.WARNING):
            pipeline = _run(collector, Slow, Slow, Slow)
        _SlowCount.gate.set()
        assert collector.dropped >= 1
        assert "dropping work" in caplog.text
        factories = collector.summary(pipeline.run_id).factories
        assert 1 <= len(factories) < 3
        assert factories[0].rows == 7

    def test_close_waits_for_its_work_and_is_idempotent(self):
        collector = MetricsCollector(spark=False)
        pipeline = _run(collector, Sleep)
        collector.close()
        assert collector.writer.pending == 0
        assert collector.run_ids == [pipeline.run_id]
        collector.close()  # twice is fine

    def test_a_factory_seen_without_its_start_still_counts(self):
        history = InMemoryRunHistory()
        collector = MetricsCollector(spark=False, history=history)
        collector.after_factory_run(
            run_id="01RUN",
            pipeline_name="etl",
            stage_id=0,
            factory_name="F",
            attempt=2,
            timestamp=time.time(),
            duration=0.5,
            phases={"read": 0.5},
            output=None,
        )
        (metrics,) = collector.summary("01RUN").factories
        assert metrics.cpu_seconds is None
        assert metrics.peak_rss_bytes is None
        assert collector.summary("01RUN").status == "running"
        # Its durations are on the attempt's row; what it would write says so.
        assert not history.list_metrics("01RUN").items
        assert samples(metrics) == []
        assert metrics.attempt == 2
