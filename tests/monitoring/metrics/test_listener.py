"""pysetl's Spark listener sums each factory's figures in the JVM, as the store does."""

from __future__ import annotations

import hashlib
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from tests.monitoring.metrics.spark_helpers import Counting, run_in_group

from pysetl.monitoring import MetricsCollector
from pysetl.monitoring.history import InMemoryRunHistory
from pysetl.monitoring.metrics import _collector, _spark
from pysetl.monitoring.metrics._progress import progress_entry, read_group_jobs
from pysetl.monitoring.metrics._spark import (
    SparkStatus,
    listener_jar,
    read_spark_figures,
    spark_status,
)
from pysetl.settings import reset_settings
from pysetl.workflow import Factory, HookManager, Pipeline

SOURCE = Path(_spark.__file__).parent / "jvm" / "GroupListener.java"


def test_the_shipped_jar_was_built_from_the_source():
    # scripts/build_listener.sh writes the source's hash into the jar: a
    # changed source with a stale jar fails here (rebuild it with the script).
    with zipfile.ZipFile(listener_jar()) as jar:
        names = set(jar.namelist())
        built_from = jar.read("META-INF/pysetl-listener.sha256").decode().strip()
    assert "pysetl/jvm/GroupListener.class" in names
    assert built_from == hashlib.sha256(SOURCE.read_bytes()).hexdigest()


def _failing(spark: Any) -> None:
    with pytest.raises(Exception, match="is not true"):
        spark.range(5).selectExpr("assert_true(id < 3)").collect()


class TestSums:
    def test_the_listener_s_figures_are_the_status_store_s(self, spark, tmp_path):
        from pyspark.sql import functions as F  # noqa: N812 - Spark's alias

        status = spark_status(spark.sparkContext)
        assert status.listen()
        path = str(tmp_path / "rows")
        counts = spark.range(3000).repartition(3).groupBy(F.col("id") % 7).count()
        group = "pysetl:test-listener:agree"
        run_in_group(
            spark,
            group,
            lambda: spark.range(1234).write.parquet(path),  # output records
            lambda: spark.read.parquet(path).collect(),  # input records
            counts.collect,  # a shuffle, execution memory
            counts.collect,  # the shuffle's map stage is skipped
            lambda: _failing(spark),  # a failed job and task
        )
        stored, stored_ids = read_spark_figures(spark.sparkContext, group)
        taken, taken_ids = status.take(group, 5.0)
        assert stored is not None
        assert taken is not None
        assert taken_ids == stored_ids
        assert taken.failed_jobs == 1
        assert taken.failed_tasks >= 1
        assert taken.input_records >= 1234  # the Parquet file, and the ranges
        assert taken.output_records == 1234
        assert taken.shuffle_write_bytes > 0
        assert taken.peak_execution_memory_bytes > 0
        assert taken.executor_tasks == (("driver", taken.tasks),)
        # every figure, to the float sums' rounding (per task against per stage)
        assert dict(taken.items()) == pytest.approx(dict(stored.items()))
        assert (taken.executor_tasks, taken.complete) == (
            stored.executor_tasks,
            stored.complete,
        )

    def test_a_group_is_taken_once_and_others_are_not_kept(self, spark):
        status = spark_status(spark.sparkContext)
        assert status.listen()
        pending = status._listener.pending()
        run_in_group(spark, "pysetl:test-listener:once", lambda: spark.range(9).count())
        run_in_group(spark, "not-pysetl", lambda: spark.range(9).count())
        figures, ids = status.take("pysetl:test-listener:once", 5.0)
        assert figures is not None
        assert figures.jobs == len(ids) == 1
        assert status.take("pysetl:test-listener:once", 5.0) == (None, [])
        # the job ids stay (for the factory's trace span)
        assert status._listener.jobIds("pysetl:test-listener:once") == str(ids)
        assert status._listener.jobIds("not-pysetl") == "[]"
        assert status.take("not-pysetl", 5.0) == (None, [])
        assert status._listener.pending() == pending

    def test_a_taken_group_s_job_ids_need_no_second_call(self, spark):
        status = spark_status(spark.sparkContext)
        assert status.listen()
        run_id = "test-listener-taken-ids"
        status.start_run(run_id)
        group = "pysetl:test-listener:taken-ids"
        run_in_group(spark, group, lambda: spark.range(9).count())
        run_in_group(spark, group, lambda: spark.range(9).collect())
        _, ids = status.take(group, 5.0)
        assert len(ids) == 2

        class Counted:  # the JVM listener, its jobIds calls counted
            def __init__(self, listener: Any) -> None:
                self.listener, self.calls = listener, 0

            def jobIds(self, group: str) -> str:
                self.calls += 1
                return str(self.listener.jobIds(group))

        counted = Counted(status._listener)
        status._listener = counted
        try:
            assert status.group_job_ids(group, run_id, 5.0) == ids
            assert counted.calls == 0
            # a group not taken is asked for
            assert status.group_job_ids("pysetl:test-listener:never", run_id, 5.0) == []
            assert counted.calls == 1
        finally:
            status._listener = counted.listener

    def test_the_listener_s_job_progress_is_the_status_store_s(self, spark):
        from pyspark.sql import functions as F  # noqa: N812 - Spark's alias

        status = spark_status(spark.sparkContext)
        assert status.listen()
        counts = spark.range(300).repartition(3).groupBy(F.col("id") % 7).count()
        group = "pysetl:test-listener:progress"
        run_in_group(
            spark,
            group,
            counts.collect,  # two stages
            counts.collect,  # one skipped
            lambda: _failing(spark),
        )
        status.wait(5.0)
        from_store = read_group_jobs(
            spark.sparkContext,
            group,
            "F",
            attempt=2,
            status=SparkStatus(spark.sparkContext),
        )
        (listened,) = status.progress([group, "pysetl:test-listener:none"]).values()
        assert [progress_entry(job, "F", 2) for job in listened] == from_store
        *succeeded, failed = [job["status"] for job in from_store]
        assert (set(succeeded), failed) == ({"SUCCEEDED"}, "FAILED")
        assert max(job["stages_total"] for job in from_store) >= 2
        assert all(job["attempt"] == 2 for job in from_store)
        status.take(group, 5.0)  # taking the figures forgets the progress
        assert status.progress([group]) == {}

    def test_a_running_job_shows_its_active_tasks(self, spark):
        status = spark_status(spark.sparkContext)
        assert status.listen()
        group = "pysetl:test-listener:running"
        rdd = spark.sparkContext.parallelize(range(2), 2)
        slowly = rdd.map(lambda value: __import__("time").sleep(1.0) or value)
        job = threading.Thread(target=run_in_group, args=(spark, group, slowly.collect))
        job.start()
        seen = []
        deadline = time.monotonic() + 30
        while job.is_alive() and time.monotonic() < deadline:
            seen += status.progress([group]).get(group, [])
            if any(record["numActiveTasks"] for record in seen):
                break
            time.sleep(0.02)
        job.join(30)
        running = [record for record in seen if record["numActiveTasks"]]
        assert running, seen
        assert running[0]["status"] == "RUNNING"
        assert running[0]["numTasks"] == 2
        status.wait(5.0)
        (done,) = status.progress([group])[group]
        assert (done["status"], done["numCompletedTasks"], done["numActiveTasks"]) == (
            "SUCCEEDED",
            2,
            0,
        )


class TestRuns:
    def test_an_observed_run_reads_no_job_or_stage_record(
        self, spark, tmp_path, monkeypatch
    ):
        status = spark_status(spark.sparkContext)
        monkeypatch.setattr(status, "_store", Counting(status._store))
        collector = MetricsCollector(history=InMemoryRunHistory())
        hooks = HookManager(observers=[collector], inline=True)
        pipeline = Pipeline(hooks=hooks).add_stage_from_type(_copy(spark, tmp_path))
        pipeline.run()
        (copied,) = collector.summary(pipeline.run_id).factories
        assert status.listens_to(pipeline.run_id)
        assert status._store.calls == []
        assert copied.spark is not None
        assert copied.spark.complete
        assert copied.spark.output_records == copied.spark.input_records == 321

    def test_without_the_listener_the_store_is_read(self, spark, tmp_path, monkeypatch):
        # A JVM that cannot load the jar (here: no jar at that path) costs
        # only speed: the figures come from the status store, as before.
        monkeypatch.setattr(_spark, "listener_jar", lambda: str(tmp_path / "none.jar"))
        status = SparkStatus(spark.sparkContext)
        assert not status.listen()
        assert not status.listen()  # tried once
        collector = MetricsCollector(history=InMemoryRunHistory())
        collector._status = status
        monkeypatch.setattr(_collector, "spark_status", lambda _sc: status)
        hooks = HookManager(observers=[collector], inline=True)
        pipeline = Pipeline(hooks=hooks).add_stage_from_type(_copy(spark, tmp_path))
        pipeline.run()
        assert status.first_job(pipeline.run_id) is not None
        assert not status.listens_to(pipeline.run_id)
        (copied,) = collector.summary(pipeline.run_id).factories
        assert copied.spark is not None
        assert copied.spark.output_records == 321
        assert collector.errors == 0

    def test_the_setting_turns_the_listener_off(self, spark, monkeypatch):
        monkeypatch.setenv("PYSETL_SPARK_LISTENER", "0")
        reset_settings()
        try:
            status = SparkStatus(spark.sparkContext)
            status.start_run("not listened")
        finally:
            monkeypatch.delenv("PYSETL_SPARK_LISTENER")
            reset_settings()
        assert status.first_job("not listened") is not None
        assert not status.listens_to("not listened")
        assert not status.listen()  # decided once for this SparkContext

    def test_a_run_begun_before_the_listener_is_read_from_the_store(self, spark):
        status = SparkStatus(spark.sparkContext)
        status.start_run("listened")
        assert status.listens_to("listened")
        since = status._listening_from
        assert since is not None
        status._runs["earlier"] = since - 1
        assert not status.listens_to("earlier")
        assert not status.listens_to("never noted")


def _copy(spark: Any, tmp_path: Path) -> type:
    source = str(tmp_path / "source")
    spark.range(321).write.mode("overwrite").parquet(source)

    class Copy(Factory[Any]):
        def read(self) -> Copy:
            self.frame = spark.read.parquet(source)
            return self

        def process(self) -> Copy:
            return self

        def write(self) -> Copy:
            self.frame.write.mode("overwrite").parquet(str(tmp_path / "copy"))
            return self

        def get(self) -> Any:
            return self.frame

    return Copy
