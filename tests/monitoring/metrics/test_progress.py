"""The Spark progress sampler: live job figures of running factories, in the history."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from typing import Any

import pytest
from typing_extensions import Self

from pysetl.monitoring.history import InMemoryRunHistory
from pysetl.monitoring.metrics._progress import (
    SPARK_PROGRESS_EVENT,
    SparkProgressSampler,
)
from pysetl.utils.writer import BackgroundWriter
from pysetl.workflow import Factory, HookManager, Pipeline


def progress_events(history, run_id):
    page = history.list_events(run_id, name=SPARK_PROGRESS_EVENT, limit=1000)
    return [e.data["jobs"] for e in page.items]


@pytest.mark.spark
def test_a_running_factorys_jobs_are_sampled_then_cleared(spark):
    class SlowJob(Factory[Any]):
        def read(self) -> Self:
            return self

        def process(self) -> Self:
            spark.range(100).repartition(2).selectExpr("id % 3 AS k").groupBy(
                "k"
            ).count().collect()
            time.sleep(0.8)  # still running: the sampler sees the finished job
            return self

        def write(self) -> Self:
            return self

        def get(self) -> Any:
            return None

    history = InMemoryRunHistory()
    with SparkProgressSampler(history, interval=0.05) as sampler:
        hooks = HookManager(observers=[sampler], inline=True)
        pipeline = Pipeline(hooks=hooks, name="sampled").add_stage_from_type(SlowJob)
        pipeline.run()
        hooks.close()
    samples = progress_events(history, pipeline.run_id)
    jobs = [job for sample in samples for job in sample]
    assert jobs, samples
    assert {job["factory"] for job in jobs} == {"SlowJob"}
    done = [job for job in jobs if job["status"] == "SUCCEEDED"]
    assert done
    last_done = done[-1]
    assert last_done["num_tasks"] >= 1
    assert last_done["completed_tasks"] == last_done["num_tasks"]
    assert last_done["stages_done"] == last_done["stages_total"] >= 1
    assert samples[-1] == []  # the run ended: nothing runs now
    assert sampler.errors == 0
    assert sampler.written == len(samples)
    assert sampler._ticker is None  # closed


class Quick(Factory[int]):
    def read(self) -> Self:
        return self

    def process(self) -> Self:
        time.sleep(0.2)
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return 1


class TestNeverBreaksARun:
    def test_a_broken_spark_context_is_counted_and_logged(self, caplog):
        history = InMemoryRunHistory()
        sampler = SparkProgressSampler(history, interval=0.02, spark_context=object())
        hooks = HookManager(observers=[sampler], inline=True)
        with caplog.at_level(logging.ERROR):
            Pipeline(hooks=hooks).add_stage_from_type(Quick).run()
        hooks.close()
        sampler.close()
        assert sampler.errors >= 1
        assert "cannot sample Spark progress" in caplog.text

    def test_a_failing_store_is_counted_by_the_writer(self, caplog):
        # Samples go out with the writer's batches: its one failure policy
        # (retried, then dropped and counted) applies, never an exception.
        class FailingHistory(InMemoryRunHistory):
            def write_batch(self, ops):
                raise OSError("disk full")

        writer = BackgroundWriter(retries=1, backoff=0.01, name="test-progress")
        try:
            sampler = SparkProgressSampler(FailingHistory(), writer=writer)
            with caplog.at_level(logging.WARNING):
                sampler._write("01R", [])
                assert writer.drain(10)
            assert sampler.errors == 0
            assert sampler.written == 1
            assert writer.retried == 1
            assert sum(writer.failures.values()) == 1
            assert "disk full" in caplog.text
        finally:
            writer.close()
        sampler._write("01R", [])  # the writer is closed: refused and counted
        assert sampler.errors == 1

    def test_nothing_running_nothing_sampled(self):
        history = InMemoryRunHistory()
        sampler = SparkProgressSampler(history)
        sampler.sample()
        sampler.after_pipeline_run(run_id="01R")  # no sample to close
        assert sampler.written == 0
        sampler.close()  # never started: fine

    def test_without_spark_a_factory_is_not_sampled(self):
        """In a process without Spark (this one may run a test SparkContext)."""
        code = (
            "from pysetl.monitoring.history import InMemoryRunHistory\n"
            "from pysetl.monitoring.metrics import SparkProgressSampler\n"
            "s = SparkProgressSampler(InMemoryRunHistory(), interval=0.01)\n"
            "s.before_factory_run(run_id='R', pipeline_name='p', factory_name='F')\n"
            "assert s._ticker is None and s._running == {}\n"
            "s.after_factory_run(run_id='R', factory_name='F')\n"
            "assert s.writer.pending == 0\n"
            "s.close()\n"
            "print('not sampled')\n"
        )
        done = subprocess.run(  # noqa: S603 - our interpreter, our code
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "not sampled"

    def test_close_stops_and_a_new_factory_restarts(self, spark):
        sampler = SparkProgressSampler(
            InMemoryRunHistory(), interval=0.01, spark_context=spark.sparkContext
        )
        sampler.before_factory_run(run_id="01R", pipeline_name="p", factory_name="F")
        first = sampler._ticker
        assert first is not None
        assert not first.cancelled
        sampler.close()
        assert first.cancelled
        sampler.before_factory_run(run_id="01R", pipeline_name="p", factory_name="G")
        assert sampler._ticker is not None
        assert not sampler._ticker.cancelled
        sampler.on_factory_run_failed(run_id="01R", factory_name="G")
        sampler.on_pipeline_run_failed(run_id="01R")
        sampler.close()
