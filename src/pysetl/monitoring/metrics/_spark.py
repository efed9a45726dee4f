"""Spark figures of one factory, found through its job group.

How attribution works: the engine sets the Spark job group
``pysetl:<run id>:<factory>`` in the thread that runs a factory, so every
Spark job that the factory triggers carries it. After the factory, the
collector asks the driver:

1. ``statusTracker().getJobIdsForGroup(group)``: the factory's jobs;
2. ``statusStore().job(id)``: each job's status and stage ids;
3. ``statusStore().lastStageAttempt(id)``: each stage's tasks, records,
   bytes, shuffle and spill.

The status store is the data behind Spark's REST API
(``/api/v1/applications/<app>/stages/<id>``), read over Py4J: it works with
the Spark UI off, needs no HTTP and cannot hang on a socket. Spark fills it
from its listener bus, asynchronously, so the lookup first waits (at most
``wait_seconds``) for the bus to be empty. At most ``max_jobs`` jobs are
read: the cost per factory is bounded, about one Py4J round trip per job and
per stage. Stages skipped because their shuffle output was reused are not
counted.

pyspark is never imported here: the collector passes the running
SparkContext, or nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pysetl.monitoring.metrics._records import SparkFigures

if TYPE_CHECKING:
    from collections.abc import Collection

__all__ = ["read_spark_figures", "wait_for_listeners"]

_FAILED_JOB = "FAILED"
_STAGE_RAN = frozenset({"COMPLETE", "FAILED", "ACTIVE"})
_NANOS = 1e9
_MILLIS = 1e3


def wait_for_listeners(spark_context: Any, wait_seconds: float) -> bool:
    """Wait until Spark's listener bus delivered every event, at most ``wait_seconds``.

    Returns:
        Whether the bus was empty in time.
    """
    bus = spark_context._jsc.sc().listenerBus()  # noqa: SLF001 - no public accessor
    try:
        bus.waitUntilEmpty(int(wait_seconds * _MILLIS))
    except Exception:  # noqa: BLE001 - a py4j error wrapping Java's TimeoutException
        return False
    return True


def read_spark_figures(
    spark_context: Any,
    group: str,
    *,
    skip: Collection[int] = (),
    wait_seconds: float = 2.0,
    max_jobs: int = 200,
) -> tuple[SparkFigures | None, list[int]]:
    """The figures of the Spark jobs of job group ``group``.

    Args:
        spark_context: The running (classic) SparkContext.
        group: The job group id.
        skip: Job ids already attributed (to an earlier attempt of the factory).
        wait_seconds: How long to wait for Spark's listener bus.
        max_jobs: At most this many jobs are read (the most recent ones).

    Returns:
        The figures summed over the group's new jobs and their stages (``None``
        when it ran no Spark job), and the ids of those jobs.
    """
    found = spark_context.statusTracker().getJobIdsForGroup(group)
    job_ids = sorted(set(found).difference(skip))
    if not job_ids:
        return None, []
    complete = wait_for_listeners(spark_context, wait_seconds)
    if len(job_ids) > max_jobs:
        complete = False
        job_ids = job_ids[-max_jobs:]
    store = spark_context._jsc.sc().statusStore()  # noqa: SLF001 - as above
    totals: dict[str, Any] = dict.fromkeys(_COUNTS, 0)
    totals["executor_run_seconds"] = totals["executor_cpu_seconds"] = 0.0
    totals["jobs"] = len(job_ids)
    seen: set[int] = set()
    for job_id in job_ids:
        job = store.job(job_id)
        if job.status().toString() == _FAILED_JOB:
            totals["failed_jobs"] += 1
        for stage_id in _stage_ids(job):
            if stage_id in seen:
                continue
            seen.add(stage_id)
            _add_stage(totals, store.lastStageAttempt(stage_id))
    return SparkFigures(complete=complete, **totals), job_ids


_COUNTS = (
    "failed_jobs",
    "stages",
    "tasks",
    "failed_tasks",
    "input_records",
    "input_bytes",
    "output_records",
    "output_bytes",
    "shuffle_read_bytes",
    "shuffle_write_bytes",
    "memory_spilled_bytes",
    "disk_spilled_bytes",
)


def _stage_ids(job: Any) -> list[int]:
    # A Scala Seq: one round trip for all of them rather than one per element.
    text = job.stageIds().mkString(",")
    return [int(part) for part in text.split(",") if part]


def _add_stage(totals: dict[str, Any], stage: Any) -> None:
    if stage.status().toString() not in _STAGE_RAN:  # skipped or pending
        return
    totals["stages"] += 1
    totals["tasks"] += stage.numCompleteTasks() + stage.numFailedTasks()
    totals["failed_tasks"] += stage.numFailedTasks()
    totals["input_records"] += stage.inputRecords()
    totals["input_bytes"] += stage.inputBytes()
    totals["output_records"] += stage.outputRecords()
    totals["output_bytes"] += stage.outputBytes()
    totals["shuffle_read_bytes"] += stage.shuffleReadBytes()
    totals["shuffle_write_bytes"] += stage.shuffleWriteBytes()
    totals["memory_spilled_bytes"] += stage.memoryBytesSpilled()
    totals["disk_spilled_bytes"] += stage.diskBytesSpilled()
    totals["executor_run_seconds"] += stage.executorRunTime() / _MILLIS
    totals["executor_cpu_seconds"] += stage.executorCpuTime() / _NANOS
