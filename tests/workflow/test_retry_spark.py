"""Retries and timeouts of factories that run Spark jobs, recorded in a real history."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

import pytest
from typer.testing import CliRunner
from typing_extensions import Self

from pysetl.cli.__main__ import app
from pysetl.errors import FactoryTimeoutError
from pysetl.monitoring.history import SqliteRunHistory
from pysetl.runtime import Session
from pysetl.workflow import Factory
from pysetl.workflow.retry import RetryPolicy
from pysetl.workflow.spark import job_group

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

pytestmark = pytest.mark.spark

TIMEOUT = 2.5


class FlakyCount(
    Factory["DataFrame"],
    retry=RetryPolicy(
        max_attempts=3, delay=0.01, jitter=0.5, seed=7, retry_on=("ConnectionError",)
    ),
):
    """Counts its input (one Spark job per attempt); the first two attempts fail."""

    spark: ClassVar[Any] = None
    counts: ClassVar[list[int]] = []

    def read(self) -> Self:
        self.frame = self.spark.range(10)
        return self

    def process(self) -> Self:
        FlakyCount.counts.append(self.frame.count())
        if len(FlakyCount.counts) < 3:  # fails twice
            msg = "the source dropped the connection"
            raise ConnectionError(msg)
        self.out = self.frame.filter("id % 2 = 0")
        return self

    def write(self) -> Self:
        return self

    def get(self) -> DataFrame:
        return self.out


class SlowJob(Factory[int], timeout=TIMEOUT):
    """A Spark job whose one task sleeps (``Thread.sleep``) far past the timeout."""

    spark: ClassVar[Any] = None

    def read(self) -> Self:
        return self

    def process(self) -> Self:
        sleep = "reflect('java.lang.Thread', 'sleep', cast(60000 as bigint))"
        self.rows = self.spark.range(1, numPartitions=1).selectExpr(sleep).collect()
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return len(self.rows)


def _warm_up(spark: SparkSession) -> None:
    """Parse and run one expression: the first parse takes seconds on a busy host."""
    assert spark.range(1).selectExpr("reflect('java.lang.Math', 'abs', -2)").first()


@pytest.fixture
def history_url(tmp_path):
    return f"sqlite:///{tmp_path / 'history.db'}", tmp_path / "history.db"


class TestFlakySparkFactory:
    def test_fails_twice_then_succeeds_with_three_attempts_in_the_history(
        self, spark: SparkSession, history_url
    ):
        url, path = history_url
        FlakyCount.spark, FlakyCount.counts = spark, []
        with Session(history=url, observe=True, spark=spark) as session:
            pipeline = session.pipeline("flaky").add_stage_from_type(FlakyCount).run()
        assert pipeline.get_last_output().count() == 5
        run_id = pipeline.run_id
        history = SqliteRunHistory(path)
        try:
            assert history.get_run(run_id).status == "succeeded"
            attempts = history.list_factory_attempts(run_id).items
            assert [(a.factory, a.attempt, a.status) for a in attempts] == [
                ("FlakyCount", 1, "failed"),
                ("FlakyCount", 2, "failed"),
                ("FlakyCount", 3, "succeeded"),
            ]
            assert attempts[0].error["attempt"] == 1
            assert attempts[1].error["attempt"] == 2
            assert attempts[1].error["causes"][0]["error_type"] == "ConnectionError"
            retried = history.list_events(run_id, name="on_factory_retried").items
            assert [
                (e.factory, e.attempt, e.data["next_attempt"]) for e in retried
            ] == [
                ("FlakyCount", 1, 2),
                ("FlakyCount", 2, 3),
            ]
            policy = FlakyCount.retry_policy
            assert policy is not None
            rng = policy.rng("FlakyCount")  # the seed makes the waits known
            expected = [policy.delay_before(n, rng) for n in (2, 3)]
            assert [e.data["delay"] for e in retried] == pytest.approx(expected)
            assert retried[0].data["cause_type"] == "ConnectionError"
            # Each attempt's one Spark job is its own: its job group ends in @N.
            jobs = [
                (m.labels.get("attempt", "1"), m.value)
                for m in history.list_metrics(
                    run_id, name="pysetl_factory_spark_jobs"
                ).items
            ]
            assert sorted(jobs) == [("1", 1.0), ("2", 1.0), ("3", 1.0)]
        finally:
            history.close()
        tracker = spark.sparkContext.statusTracker()
        for attempt in (1, 2, 3):
            group = job_group(run_id, "flaky", "FlakyCount", attempt)[0]
            assert len(tracker.getJobIdsForGroup(group)) == 1
        shown = CliRunner().invoke(
            app, ["--history", str(path), "runs", "show", run_id]
        )
        assert shown.exit_code == 0, shown.output
        rows = [
            line.split() for line in shown.output.splitlines() if "FlakyCount" in line
        ]
        assert [(row[2], row[3]) for row in rows[:3]] == [
            ("1", "failed"),
            ("2", "failed"),
            ("3", "succeeded"),
        ]


class TestSparkTimeout:
    def test_cancels_the_job_group_and_fails_within_the_timeout(
        self, spark: SparkSession, history_url
    ):
        url, path = history_url
        SlowJob.spark = spark
        _warm_up(spark)  # the SQL parser: seconds, the first time
        started = time.perf_counter()
        with Session(history=url, observe=True, spark=spark) as session:
            pipeline = session.pipeline("slow").add_stage_from_type(SlowJob)
            with pytest.raises(FactoryTimeoutError) as info:
                pipeline.run()
            took = time.perf_counter() - started
        error = info.value
        assert TIMEOUT <= took < TIMEOUT + 4.0
        assert (error.factory, error.timeout, error.phase) == (
            "SlowJob",
            TIMEOUT,
            "process",
        )
        assert not error.abandoned  # the cancelled Spark action returned
        assert "Spark job group was cancelled" in (error.hint or "")
        tracker = spark.sparkContext.statusTracker()
        group = job_group(pipeline.run_id, "slow", "SlowJob")[0]
        (job_id,) = tracker.getJobIdsForGroup(group)
        assert tracker.getJobInfo(job_id).status == "FAILED"
        history = SqliteRunHistory(path)
        try:
            assert history.get_run(pipeline.run_id).status == "failed"
            (attempt,) = history.list_factory_attempts(pipeline.run_id).items
            assert attempt.status == "failed"
            assert attempt.error["error_type"] == "FactoryTimeoutError"
            assert attempt.error["timeout"] == TIMEOUT
            causes = " ".join(c["message"] for c in attempt.error["causes"])
            assert "cancelled" in causes.lower()
        finally:
            history.close()
        # The task was killed: the one core is free for the next job at once.
        started = time.perf_counter()
        assert spark.range(3).count() == 3
        assert time.perf_counter() - started < 10.0
