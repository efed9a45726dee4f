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
the Spark UI off, needs no HTTP and cannot hang on a socket. Each job and
stage is serialised to JSON in the JVM by the same Jackson mapper as the REST
API's, so it costs two Py4J round trips (not one per field). Spark fills the
store from its listener bus, asynchronously, so the lookup first waits (at
most ``wait_seconds``) for the bus to be empty. At most ``max_jobs`` jobs are
read: the cost per factory is bounded. Stages skipped because their shuffle
output was reused are not counted, and a stage shared by jobs counts once.

pyspark is never imported here: the collector passes the running
SparkContext, or nothing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pysetl.monitoring.metrics._records import SparkFigures

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

__all__ = ["json_mapper", "read_spark_figures", "wait_for_listeners"]

_FAILED_JOB = "FAILED"
_SCALA_MODULE = "DefaultScalaModule$"
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


def json_mapper(spark_context: Any) -> Any:
    """A JVM Jackson mapper that serialises Spark's status records, as the REST API."""
    jvm = spark_context._jvm  # noqa: SLF001 - no public accessor
    mapper = jvm.com.fasterxml.jackson.databind.ObjectMapper()
    scala = getattr(jvm.com.fasterxml.jackson.module.scala, _SCALA_MODULE)
    mapper.registerModule(getattr(scala, "MODULE$"))
    return mapper


def read_spark_figures(
    spark_context: Any,
    group: str,
    *,
    make_mapper: Callable[[Any], Any] = json_mapper,
    skip: Collection[int] = (),
    wait_seconds: float = 2.0,
    max_jobs: int = 200,
) -> tuple[SparkFigures | None, list[int]]:
    """The figures of the Spark jobs of job group ``group``.

    Args:
        spark_context: The running (classic) SparkContext.
        group: The job group id.
        make_mapper: Returns the JVM JSON mapper for ``spark_context``, called
            only when the group has jobs (pass a caching one to reuse it).
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
    mapper = make_mapper(spark_context)
    store = spark_context._jsc.sc().statusStore()  # noqa: SLF001 - as above
    totals: dict[str, Any] = dict.fromkeys(_COUNTS, 0)
    totals["executor_run_seconds"] = totals["executor_cpu_seconds"] = 0.0
    totals["jobs"] = len(job_ids)
    seen: set[int] = set()
    for job_id in job_ids:
        job = json.loads(mapper.writeValueAsString(store.job(job_id)))
        if job["status"] == _FAILED_JOB:
            totals["failed_jobs"] += 1
        for stage_id in job["stageIds"]:
            if stage_id in seen:
                continue
            seen.add(stage_id)
            stage = mapper.writeValueAsString(store.lastStageAttempt(stage_id))
            _add_stage(totals, json.loads(stage))
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
_FIELDS = (  # ours, the REST API's
    ("input_records", "inputRecords"),
    ("input_bytes", "inputBytes"),
    ("output_records", "outputRecords"),
    ("output_bytes", "outputBytes"),
    ("shuffle_read_bytes", "shuffleReadBytes"),
    ("shuffle_write_bytes", "shuffleWriteBytes"),
    ("memory_spilled_bytes", "memoryBytesSpilled"),
    ("disk_spilled_bytes", "diskBytesSpilled"),
)


def _add_stage(totals: dict[str, Any], stage: dict[str, Any]) -> None:
    if stage["status"] not in _STAGE_RAN:  # skipped or pending
        return
    failed = stage.get("numFailedTasks", 0)
    totals["stages"] += 1
    totals["tasks"] += stage.get("numCompleteTasks", 0) + failed
    totals["failed_tasks"] += failed
    for ours, theirs in _FIELDS:
        totals[ours] += stage.get(theirs, 0)
    totals["executor_run_seconds"] += stage.get("executorRunTime", 0) / _MILLIS
    totals["executor_cpu_seconds"] += stage.get("executorCpuTime", 0) / _NANOS
