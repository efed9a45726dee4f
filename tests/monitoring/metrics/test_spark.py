"""Spark figures are attributed to the factory whose job group ran them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.monitoring.metrics.spark_helpers import Counting, run_in_group

from pysetl.monitoring import MetricsCollector
from pysetl.monitoring.history import InMemoryRunHistory
from pysetl.monitoring.metrics import SparkProgressSampler
from pysetl.monitoring.metrics._spark import (
    SparkStatus,
    read_spark_figures,
    spark_status,
    wait_for_listeners,
)
from pysetl.workflow import Factory, HookManager, Pipeline

ROWS = 1234


@pytest.fixture(scope="module")
def landed(spark, tmp_path_factory) -> Path:
    """A Parquet file of exactly ROWS rows, written before any run."""
    path = tmp_path_factory.mktemp("metrics") / "landed"
    spark.range(ROWS).selectExpr("id", "id % 7 AS bucket").write.parquet(str(path))
    return path


def _factories(spark: Any, source: Path, target: Path) -> tuple[type, type]:
    class CopyLanded(Factory[Any]):
        def read(self) -> CopyLanded:
            self.frame = spark.read.parquet(str(source))
            return self

        def process(self) -> CopyLanded:
            return self

        def write(self) -> CopyLanded:
            self.frame.write.mode("overwrite").parquet(str(target))
            return self

        def get(self) -> Any:
            return self.frame

    class Aggregate(Factory[Any]):
        def read(self) -> Aggregate:
            self.frame = spark.range(50).repartition(3)  # a shuffle
            return self

        def process(self) -> Aggregate:
            self.total = self.frame.selectExpr("id % 5 AS k").groupBy("k").count()
            self.total.collect()
            return self

        def write(self) -> Aggregate:
            return self

        def get(self) -> Any:
            return self.total

    return CopyLanded, Aggregate


class TestAttribution:
    def test_a_factory_gets_the_figures_of_its_own_jobs_only(
        self, spark, landed, tmp_path
    ):
        copy, aggregate = _factories(spark, landed, tmp_path / "copy")
        history = InMemoryRunHistory()
        collector = MetricsCollector(history=history, count_rows={"Aggregate"})
        hooks = HookManager(observers=[collector], inline=True)
        pipeline = Pipeline(hooks=hooks).add_stage_from_type(copy)
        pipeline.add_stage_from_type(aggregate).run()
        summary = collector.summary(pipeline.run_id)
        copied, aggregated = summary.factories
        assert copied.spark is not None
        assert copied.spark.complete
        assert copied.spark.input_records == ROWS
        assert copied.spark.output_records == ROWS
        assert copied.spark.output_bytes > 0
        assert copied.spark.jobs >= 1
        assert copied.spark.stages >= 1
        assert copied.spark.tasks >= 1
        assert copied.spark.failed_tasks == 0
        assert copied.rows is None  # written rows are free; counting was not asked
        assert aggregated.spark is not None
        assert aggregated.spark.input_records != ROWS
        assert aggregated.spark.output_records == 0
        assert aggregated.spark.shuffle_write_bytes > 0
        assert aggregated.rows == 5
        assert summary.totals["output_records"] == ROWS
        collector.flush()
        rows = history.list_metrics(
            pipeline.run_id, name="pysetl_factory_spark_input_records"
        ).items
        assert {r.factory: r.value for r in rows}["CopyLanded"] == ROWS

    def test_an_observed_run_finds_its_jobs_without_scanning_the_store(
        self, spark, landed, tmp_path
    ):
        # The collector and the sampler note the run's first job id when it
        # starts: no call lists every job the store keeps.
        copy, aggregate = _factories(spark, landed, tmp_path / "copy")
        status = spark_status(spark.sparkContext)
        tracker = status._tracker
        status._tracker = counting = Counting(tracker)
        try:
            history = InMemoryRunHistory()
            collector = MetricsCollector(history=history)
            sampler = SparkProgressSampler(history, interval=0.05)
            hooks = HookManager(observers=[collector, sampler], inline=True)
            pipeline = Pipeline(hooks=hooks).add_stage_from_type(copy)
            pipeline.add_stage_from_type(aggregate).run()
            sampler.close()
        finally:
            status._tracker = tracker
        assert counting.calls == []
        assert status.first_job(pipeline.run_id) is not None
        copied, aggregated = collector.summary(pipeline.run_id).factories
        assert copied.spark is not None
        assert copied.spark.output_records == ROWS
        assert aggregated.spark is not None
        assert aggregated.spark.shuffle_write_bytes > 0
        assert sampler.errors == 0

    def test_without_spark_jobs_there_are_no_figures(self, spark):
        class Plain(Factory[int]):
            def read(self) -> Plain:
                return self

            def process(self) -> Plain:
                return self

            def write(self) -> Plain:
                return self

            def get(self) -> int:
                return 1

        collector = MetricsCollector(spark_context=spark.sparkContext)
        hooks = HookManager(observers=[collector], inline=True)
        pipeline = Pipeline(hooks=hooks).add_stage_from_type(Plain).run()
        (plain,) = collector.summary(pipeline.run_id).factories
        assert plain.spark is None


class TestLookups:
    def test_jobs_seen_already_and_beyond_the_bound_are_left_out(self, spark):
        sc = spark.sparkContext
        sc.setJobGroup("pysetl-test-bound", "three jobs")
        try:
            for _ in range(3):
                spark.range(10).count()
        finally:
            sc.setLocalProperty("spark.jobGroup.id", None)
        figures, ids = read_spark_figures(sc, "pysetl-test-bound", max_jobs=2)
        assert figures is not None
        assert figures.jobs == 2
        assert not figures.complete
        assert len(ids) == 2
        again, rest = read_spark_figures(sc, "pysetl-test-bound", skip=ids)
        assert again is not None
        assert again.jobs == 1
        assert again.complete
        none = read_spark_figures(sc, "pysetl-test-bound", skip=ids + rest)
        assert none == (None, [])

    def test_waiting_for_listeners_is_bounded(self, spark):
        assert wait_for_listeners(spark.sparkContext, 1.0)
        assert wait_for_listeners(spark.sparkContext, -1.0) in (True, False)

    def test_failed_jobs_and_reused_stages_are_counted_once(self, spark):
        from pyspark.sql import functions as F  # noqa: N812 - Spark's alias

        sc = spark.sparkContext
        grouped = spark.range(20).repartition(2).groupBy((F.col("id") % 3).alias("k"))
        counts = grouped.count()
        sc.setJobGroup("pysetl-test-failed", "a failing job and a reused shuffle")
        try:
            counts.collect()
            counts.collect()  # the shuffle's map stage is skipped: counted once
            with pytest.raises(Exception, match="is not true"):
                spark.range(5).selectExpr("assert_true(id < 3)").collect()
        finally:
            sc.setLocalProperty("spark.jobGroup.id", None)
        figures, ids = read_spark_figures(sc, "pysetl-test-failed")
        assert figures is not None
        assert figures.failed_jobs == 1
        assert figures.failed_tasks >= 1
        assert figures.jobs == len(ids) >= 3


class TestSharedStatus:
    def test_one_status_reader_per_spark_context_for_every_observer(self, spark):
        # A new JSON mapper learns each record class again (tens of ms of
        # JVM work): collectors and samplers of every run share one.
        sc = spark.sparkContext
        shared = spark_status(sc)
        assert spark_status(sc) is shared
        collector = MetricsCollector(spark_context=sc)
        assert collector._status_of(sc) is shared
        sampler = SparkProgressSampler(InMemoryRunHistory(), spark_context=sc)
        sc.setJobGroup("pysetl-test-shared", "one job")
        try:
            spark.range(10).count()
        finally:
            sc.setLocalProperty("spark.jobGroup.id", None)
        assert sampler._read(sc, "r", {}) == []
        assert sampler._status is shared

    def test_a_stage_the_store_dropped_is_missing_not_an_error(self, spark):
        # spark.ui.retainedStages: a long-lived session forgets old stages,
        # and a job may name one (a reused shuffle's skipped stage).
        sc = spark.sparkContext
        assert spark_status(sc).stage(10**9) is None
        sc.setJobGroup("pysetl-test-dropped", "a job of two stages")
        try:
            spark.range(30).repartition(2).selectExpr("id % 3 AS k").groupBy(
                "k"
            ).count().collect()
        finally:
            sc.setLocalProperty("spark.jobGroup.id", None)

        class Forgetful(SparkStatus):
            """The store of a session that dropped the job's first stage."""

            def stage(
                self, stage_id: int, since: int | None = None
            ) -> dict[str, Any] | None:
                first = min(
                    self.job(self.job_ids("pysetl-test-dropped")[0])["stageIds"]
                )
                return None if stage_id == first else super().stage(stage_id, since)

        whole, _ = read_spark_figures(sc, "pysetl-test-dropped")
        figures, ids = read_spark_figures(
            sc, "pysetl-test-dropped", status=Forgetful(sc)
        )
        assert whole is not None
        assert whole.complete
        assert figures is not None
        assert not figures.complete
        assert ids
        assert 0 < figures.stages < whole.stages


def _one_job(spark: Any, group: str, rows: int) -> tuple[SparkStatus, int]:
    """A fresh status reader, and the id of the job a count in ``group`` ran."""
    run_in_group(spark, group, lambda: spark.range(rows).count())
    status = SparkStatus(spark.sparkContext)
    status.wait(5.0)
    (job_id, *_) = status.job_ids(group)
    return status, job_id


class TestCheapReads:
    """The readings avoid the store's calls that scan every job or stage it keeps."""

    def test_a_run_s_jobs_are_found_from_its_first_job_id(self, spark):
        status = SparkStatus(spark.sparkContext)
        status.start_run("run-a")
        first = status.first_job("run-a")
        assert first is not None
        status.start_run("run-a")  # noted once: the first id stays
        assert status.first_job("run-a") == first
        run_in_group(spark, "pysetl-test-range-a", lambda: spark.range(9).count())
        run_in_group(spark, "pysetl-test-range-b", lambda: spark.range(7).collect())
        run_in_group(spark, "pysetl-test-range-a", lambda: spark.range(5).collect())
        status.wait(5.0)
        tracker = status._tracker = Counting(status._tracker)
        for group in ("pysetl-test-range-a", "pysetl-test-range-b"):
            everything = SparkStatus(spark.sparkContext).job_ids(group)
            assert status.job_ids(group, first) == everything
            assert everything
        assert tracker.calls == []  # no scan of every job the store keeps
        assert status.job_ids("pysetl-test-range-none", first) == []
        # without a first id, or beyond the bound, the tracker is asked
        assert status.job_ids("pysetl-test-range-a") == everything_of(
            spark, "pysetl-test-range-a"
        )
        assert tracker.calls == ["getJobIdsForGroup"]

    def test_without_the_scheduler_s_next_id_groups_are_asked(self, spark):
        status = SparkStatus(spark.sparkContext)
        status._next_job = False  # a Spark without the accessor
        status.start_run("run-b")
        assert status.first_job("run-b") is None
        run_in_group(spark, "pysetl-test-no-next", lambda: spark.range(3).count())
        figures, ids = read_spark_figures(
            spark.sparkContext, "pysetl-test-no-next", status=status, first_job=0
        )
        assert figures is not None
        assert ids == everything_of(spark, "pysetl-test-no-next")

    def test_an_ended_job_s_record_is_read_once(self, spark):
        status, job_id = _one_job(spark, "pysetl-test-once", 4)
        store = status._store = Counting(status._store)
        record = status.job(job_id)
        assert record is not None
        assert record["status"] == "SUCCEEDED"
        assert status.job(job_id) is record
        assert store.calls == ["job"]

    def test_stages_are_read_by_key_and_skipped_ones_not_at_all(self, spark):
        from pyspark.sql import functions as F  # noqa: N812 - Spark's alias

        counts = spark.range(40).repartition(3).groupBy((F.col("id") % 4).alias("k"))
        frame = counts.count()
        group = "pysetl-test-by-key"
        run_in_group(spark, group, frame.collect, frame.collect)  # 2nd: map skipped
        status = SparkStatus(spark.sparkContext)
        status.wait(5.0)
        store = status._store = Counting(status._store)
        figures, ids = read_spark_figures(spark.sparkContext, group, status=status)
        assert "lastStageAttempt" not in store.calls
        # the job that reused the shuffle had only its result stage read
        reused = [status.job(i) for i in ids if status.job(i)["numSkippedStages"]]
        assert reused
        assert store.calls.count("stageAttempt") < sum(
            len(status.job(i)["stageIds"]) for i in ids
        )

        class EveryStage(SparkStatus):
            """The readings of every stage's last attempt, skipped ones too."""

            def stage(
                self, stage_id: int, since: int | None = None
            ) -> dict[str, Any] | None:
                self._attempt_args = False
                return super().stage(stage_id, since)

        import pysetl.monitoring.metrics._spark as spark_module

        every = EveryStage(spark.sparkContext)
        original = spark_module._stages_that_ran
        spark_module._stages_that_ran = lambda job: job["stageIds"]
        try:
            slow, _ = read_spark_figures(spark.sparkContext, group, status=every)
        finally:
            spark_module._stages_that_ran = original
        assert figures == slow
        assert figures is not None
        assert figures.stages >= 3

    def test_a_first_attempt_of_an_earlier_job_is_not_taken(self, spark):
        status, job_id = _one_job(spark, "pysetl-test-since", 6)
        stage_id = status.job(job_id)["stageIds"][-1]
        store = status._store = Counting(status._store)
        stage = status.stage(stage_id)
        assert stage is not None
        assert store.calls == ["stageAttempt"]
        later = stage["submissionTime"] + 1  # as if a later job named the stage
        assert status.stage(stage_id, later) == stage
        assert store.calls == ["stageAttempt", "stageAttempt", "lastStageAttempt"]

    def test_a_spark_without_the_keyed_read_asks_for_the_last_attempt(self, spark):
        status, job_id = _one_job(spark, "pysetl-test-old-spark", 8)
        stage_id = status.job(job_id)["stageIds"][-1]
        expected = status.stage(stage_id)
        # The arguments of an older signature: the JVM finds no such method.
        status._attempt_args = (False,)
        store = status._store = Counting(status._store)
        assert status.stage(stage_id) == expected
        assert status._attempt_args is False  # not asked again
        assert status.stage(stage_id) == expected
        assert store.calls == ["stageAttempt", "lastStageAttempt", "lastStageAttempt"]


def everything_of(spark: Any, group: str) -> list[int]:
    """The job ids of ``group``, as Spark's status tracker lists them."""
    return sorted(spark.sparkContext.statusTracker().getJobIdsForGroup(group))


class TestExecutorFigures:
    def test_a_stage_s_tasks_per_executor_gc_and_peak_memory(self, spark):
        sc = spark.sparkContext
        sc.setJobGroup("pysetl-test-executors", "an aggregation over 3 partitions")
        try:
            spark.range(3000).repartition(3).selectExpr("id % 7 AS k").groupBy(
                "k"
            ).count().collect()
        finally:
            sc.setLocalProperty("spark.jobGroup.id", None)
        figures, _ = read_spark_figures(sc, "pysetl-test-executors")
        assert figures is not None
        # local mode: every task ran on the driver's executor
        (executor, tasks), *others = figures.executor_tasks
        assert not others
        assert executor == "driver"
        assert tasks == figures.tasks
        # the aggregation's hash map is execution memory of its tasks
        assert figures.peak_execution_memory_bytes > 0
        assert figures.jvm_gc_seconds >= 0
        assert dict(figures.items()).keys() >= {
            "jvm_gc_seconds",
            "peak_execution_memory_bytes",
        }
        assert "executor_tasks" not in dict(figures.items())

    def test_the_peak_from_the_stage_sum_agrees_with_the_quantiles(self, spark):
        # One task, or nothing used: the stage's sum is the largest task's
        # peak, so the quantile lookup is skipped; the figures are the same.
        from pysetl.monitoring.metrics._spark import _largest_task_peak

        sc = spark.sparkContext
        sc.setJobGroup("pysetl-test-peaks", "stages of one and of many tasks")
        try:
            spark.range(500).coalesce(1).selectExpr("id % 7 AS k").groupBy(
                "k"
            ).count().coalesce(1).collect()
            spark.range(500).repartition(3).selectExpr("id % 7 AS k").groupBy(
                "k"
            ).count().collect()
            spark.range(50).count()
        finally:
            sc.setLocalProperty("spark.jobGroup.id", None)
        status = spark_status(sc)
        status.wait(5.0)
        kinds = set()
        for job_id in status.job_ids("pysetl-test-peaks"):
            for stage_id in status.job(job_id)["stageIds"]:
                stage = status.stage(stage_id)
                if stage is None or stage["status"] != "COMPLETE":
                    continue
                quantile = status.peak_task_memory(stage_id, stage["attemptId"])
                assert _largest_task_peak(status, stage) == quantile
                kinds.add((stage["numCompleteTasks"] == 1, quantile > 0))
        assert {(True, True), (False, True)} <= kinds

    def test_executor_tasks_are_labelled_samples(self):
        from pysetl.monitoring.metrics import METRIC_NAMES, SparkFigures
        from pysetl.monitoring.metrics._records import figure_samples

        spark = SparkFigures(jobs=1, tasks=5, executor_tasks=(("0", 2), ("1", 3)))
        found = [
            (name, value, labels)
            for name, value, labels in figure_samples(spark=spark)
            if name == "pysetl_factory_spark_executor_tasks"
        ]
        assert found == [
            ("pysetl_factory_spark_executor_tasks", 2, {"executor": "0"}),
            ("pysetl_factory_spark_executor_tasks", 3, {"executor": "1"}),
        ]
        assert "pysetl_factory_spark_executor_tasks" in METRIC_NAMES
