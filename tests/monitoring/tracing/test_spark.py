"""Spark job ids on factory spans, read through the factories' job groups."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pysetl.monitoring import MetricsCollector
from pysetl.monitoring.metrics._spark import spark_status
from pysetl.utils.writer import BackgroundWriter
from pysetl.workflow import Factory, HookManager, Pipeline


class Count(Factory[int]):
    spark: Any = None

    def read(self) -> Count:
        return self

    def process(self) -> Count:
        self.rows = Count.spark.range(10).count() + Count.spark.range(5).count()
        return self

    def write(self) -> Count:
        return self

    def get(self) -> int:
        return self.rows


class NoJob(Factory[int]):
    def read(self) -> NoJob:
        return self

    def process(self) -> NoJob:
        return self

    def write(self) -> NoJob:
        return self

    def get(self) -> int:
        return 0


class TestSparkJobIds:
    @pytest.mark.parametrize("noted", [False, True], ids=["tracker", "listener"])
    def test_the_factory_span_lists_its_spark_jobs(
        self, spark, make_exporter, memory, noted
    ):
        # With the metrics collector the run's start is noted, and pysetl's
        # Spark listener, which saw the whole run, lists the jobs.
        Count.spark = spark
        exporter = make_exporter(span_exporter=memory, phases=False)
        observers: list[Any] = [exporter]
        if noted:
            observers.append(MetricsCollector(spark_context=spark.sparkContext))
        pipeline = Pipeline(
            name="sp", hooks=HookManager(observers=observers), spark=spark
        )
        pipeline.add_stage_from_type(Count).add_stage_from_type(NoJob)
        pipeline.run()
        pipeline.hooks.drain()
        exporter.close()
        spans = {s.name: s for s in memory.get_finished_spans()}
        ids = spans["factory Count"].attributes["pysetl.spark.job_ids"]
        tracker = spark.sparkContext.statusTracker()
        group = f"pysetl:{pipeline.run_id}:Count"
        assert list(ids) == sorted(tracker.getJobIdsForGroup(group))
        assert len(ids) >= 2
        assert "pysetl.spark.job_ids" not in spans["factory NoJob"].attributes
        assert exporter.errors == 0
        assert spark_status(spark.sparkContext).listens_to(pipeline.run_id) is noted

    def test_spark_job_ids_can_be_left_out(self, spark, make_exporter, memory):
        Count.spark = spark
        exporter = make_exporter(span_exporter=memory, phases=False, spark_jobs=False)
        pipeline = Pipeline(
            name="sp", hooks=HookManager(observers=[exporter]), spark=spark
        )
        pipeline.add_stage_from_type(Count).run()
        exporter.close()
        (factory,) = [
            s for s in memory.get_finished_spans() if s.name == "factory Count"
        ]
        assert "pysetl.spark.job_ids" not in factory.attributes

    def test_a_failing_lookup_leaves_the_ids_out_and_is_counted(
        self, make_exporter, memory, caplog
    ):
        """A SparkContext whose JVM is gone (a stand-in: the shared one must live)."""

        class Gone:
            @property
            def _jsc(self) -> Any:
                msg = "the JVM is gone"
                raise RuntimeError(msg)

        exporter = make_exporter(span_exporter=memory, phases=False)
        span = exporter.tracer.start_span("factory F")
        for _ in range(2):
            exporter._add_job_ids(span, Gone(), "pysetl:R:F", "R")
        span.end()
        exporter.close()
        assert exporter.errors == 2
        assert caplog.text.count("no Spark job ids") == 1
        (factory,) = memory.get_finished_spans()
        assert "pysetl.spark.job_ids" not in factory.attributes


class TestWithSparkRunning:
    """Spark is up: factory spans end on the writer thread, after the job lookup."""

    def test_close_waits_for_the_lookups_still_queued(
        self, spark, make_exporter, memory, three_stages
    ):
        writer = BackgroundWriter()
        gate = threading.Event()
        try:
            writer.call(gate.wait, 5)  # the writer is busy with another observer
            exporter = make_exporter(span_exporter=memory, writer=writer)
            three_stages(exporter).run()
            assert exporter._pending == 3  # the three factories wait for the writer
            threading.Timer(0.2, gate.set).start()
            exporter.close()
        finally:
            gate.set()
            writer.close(2)
        names = {s.name for s in memory.get_finished_spans()}
        assert {"factory Extract", "factory Clean", "factory Load"} <= names
        assert exporter._pending == 0

    def test_a_closed_writer_ends_the_span_at_once(
        self, spark, make_exporter, memory, three_stages
    ):
        writer = BackgroundWriter()
        writer.close(2)
        exporter = make_exporter(span_exporter=memory, writer=writer, phases=False)
        three_stages(exporter).run()
        exporter.close()
        assert len(memory.get_finished_spans()) == 7
        assert exporter._pending == 0
