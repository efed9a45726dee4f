"""What reading one factory's Spark figures costs, as the status store fills up.

The metrics collector reads, after each factory, the figures of the Spark jobs
of the factory's job group (``pysetl.monitoring.metrics._spark``). A
long-lived SparkSession keeps up to ``spark.ui.retainedJobs`` (1,000) jobs and
``spark.ui.retainedStages`` (1,000) stages in its status store; this prints
how long one factory's reading takes when the store holds ``--kept`` jobs of
other groups:

* ``0.6 way``: what 0.6 read: the factory's jobs by
  ``statusTracker().getJobIdsForGroup``, then the last attempt of every
  stage of every job (``lastStageAttempt``, which sorts the stages the store
  keeps), skipped stages too;
* ``by group``: the jobs by ``getJobIdsForGroup`` (what a ``Stage`` run on
  its own, or a Spark without the DAG scheduler's next job id, uses), the
  stages read by key, a job's skipped stages left out;
* ``first job``: the same, the jobs found from the id noted when the run
  started (``SparkStatus.start_run``: what a ``Pipeline`` run uses);
* ``records read``: the same, when the progress sampler has read the job
  records already (as it does while the factory runs);
* ``listener``: what a ``Pipeline`` run reads since 0.8: the sums of pysetl's
  Spark listener, taken in one call after waiting for the listener bus
  (``SparkStatus.take``). A group is taken once, so each of these readings
  is of the factory's jobs run again in a new group.

A last table times finding the factory's job ids alone (200 calls, records
read), by group and from the first job.

The factory runs 8 jobs: 4 aggregations with a shuffle and 4 counts, run in
one group. Every reading is checked to give the same figures. Local mode,
two cores, the Spark UI off; the median of ``--repeat`` readings (wall time
of the reading thread: Python, Py4J and the JVM's work).

Usage: python benchmarks/spark_reads.py [--kept 0 500 1000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from typing import Any

from pysetl.monitoring.metrics import _spark
from pysetl.monitoring.metrics._spark import SparkStatus, read_spark_figures

FACTORY = "pysetl:bench:factory"  # a pysetl job group: the listener sums it


def fill(spark: Any, jobs: int, start: int) -> None:
    """Run ``jobs`` small jobs in other groups."""
    sc = spark.sparkContext
    for i in range(start, start + jobs):
        sc.setJobGroup(f"pysetl-bench-other-{i % 50}", "filler")
        spark.range(3).count()
    sc.setLocalProperty("spark.jobGroup.id", None)


def run_factory(spark: Any, status: SparkStatus, run_id: str) -> None:
    """The factory's 8 jobs, in its group, after the run's start is noted."""
    sc = spark.sparkContext
    status.start_run(run_id)
    frame = spark.range(200).repartition(2).selectExpr("id % 5 AS k")
    grouped = frame.groupBy("k").count()
    sc.setJobGroup(FACTORY + run_id, "the factory")
    try:
        for _ in range(4):
            grouped.collect()
            spark.range(10).count()
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    status.wait(10.0)


def timed(reading: Any, repeat: int) -> tuple[float, Any]:
    """Median seconds of ``reading()`` over ``repeat`` calls, and its result."""
    seconds, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = reading()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def measure(spark: Any, status: SparkStatus, run_id: str, repeat: int) -> list[float]:
    """Milliseconds of one reading: the 0.6 way, by group, first job, records read."""
    sc, group = spark.sparkContext, FACTORY + run_id
    first = status.first_job(run_id)

    def forget() -> None:  # what the job records cost when nobody has read them
        status._finished.clear()  # noqa: SLF001 - the benchmark's reset
        status._groups.clear()  # noqa: SLF001

    def as_before() -> Any:
        forget()
        keyed, ran = status._attempt_args, _spark._stages_that_ran  # noqa: SLF001
        status._attempt_args = False  # noqa: SLF001 - every stage's last attempt
        _spark._stages_that_ran = lambda job: job["stageIds"]  # noqa: SLF001
        try:
            return read_spark_figures(sc, group, status=status)
        finally:
            status._attempt_args, _spark._stages_that_ran = keyed, ran  # noqa: SLF001

    def by_group() -> Any:
        forget()
        return read_spark_figures(sc, group, status=status)

    def from_first_job(*, fresh: bool) -> Any:
        if fresh:
            forget()
        return read_spark_figures(sc, group, status=status, first_job=first)

    figures = [
        timed(as_before, repeat),
        timed(by_group, repeat),
        timed(lambda: from_first_job(fresh=True), repeat),
        timed(lambda: from_first_job(fresh=False), repeat),
    ]
    found = {repr(result[0]) for _, result in figures}
    if len(found) != 1 or figures[0][1][0] is None:
        msg = f"the readings differ: {found}"
        raise AssertionError(msg)
    return [seconds * 1e3 for seconds, _ in figures]


def listened(spark: Any, status: SparkStatus, run_id: str, repeat: int) -> float:
    """Milliseconds of taking one factory's figures from pysetl's Spark listener.

    A group is taken once, so each reading is of a new factory (its 8 jobs
    run again); the first one's figures are checked against the store's.
    """
    seconds = []
    for k in range(repeat):
        run = f"{run_id}.{k}"
        run_factory(spark, status, run)
        group = FACTORY + run
        stored = read_spark_figures(spark.sparkContext, group, status=status)[0]
        start = time.perf_counter()
        taken, _ = status.take(group, 10.0)
        seconds.append(time.perf_counter() - start)
        if k == 0 and not _same(taken, stored):
            msg = f"the listener's figures differ from the store's: {taken} {stored}"
            raise AssertionError(msg)
    return statistics.median(seconds) * 1e3


def _same(one: Any, other: Any) -> bool:
    """Whether two ``SparkFigures`` agree (float sums to their rounding)."""
    if one is None or other is None:
        return False
    theirs = dict(other.items())
    return all(math.isclose(v, theirs[k], rel_tol=1e-9) for k, v in one.items())


def job_ids(status: SparkStatus, run_id: str, calls: int) -> tuple[float, float]:
    """Milliseconds to find the factory's job ids: by group, from the first job."""
    group, first = FACTORY + run_id, status.first_job(run_id)
    if status.job_ids(group) != status.job_ids(group, first):
        msg = "the two ways find other jobs"
        raise AssertionError(msg)
    by_group, _ = timed(lambda: status.job_ids(group), calls)
    ranged, _ = timed(lambda: status.job_ids(group, first), calls)
    return by_group * 1e3, ranged * 1e3


def main() -> int:
    """Print one row per store size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kept", type=int, nargs="+", default=[0, 500, 1000])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    from pyspark.sql import SparkSession  # noqa: PLC0415 - heavy, after parsing

    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        status = SparkStatus(spark.sparkContext)
        if not status.listen():
            print("pysetl's Spark listener cannot be loaded here", file=sys.stderr)
            return 1
        status.wait(10.0)
        print(f"one factory of 8 jobs; median of {args.repeat} readings, ms")
        columns = ("0.6 way", "by group", "first job", "records read", "listener")
        print(f"{'jobs kept':>10}" + "".join(f"  {c:>12}" for c in columns))
        filled, ids = 0, []
        for i, kept in enumerate(sorted(args.kept)):
            fill(spark, kept - filled, filled)
            filled = kept
            run_id = f"-{i}"
            run_factory(spark, status, run_id)
            row = measure(spark, status, run_id, args.repeat)
            row.append(listened(spark, status, run_id, args.repeat))
            print(f"{kept:>10}" + "".join(f"  {ms:>12.2f}" for ms in row))
            ids.append((kept, *job_ids(status, run_id, 200)))
        print("\nfinding the job ids alone (records read), median of 200 calls, ms")
        print(f"{'jobs kept':>10}  {'by group':>12}  {'first job':>12}")
        for kept, by_group, ranged in ids:
            print(f"{kept:>10}  {by_group:>12.3f}  {ranged:>12.3f}")
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
