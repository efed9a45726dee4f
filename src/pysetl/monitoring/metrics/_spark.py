"""Spark figures of one factory, found through its job group.

How attribution works: the engine sets the Spark job group
``pysetl:<run id>:<factory>`` in the thread that runs a factory, so every
Spark job that the factory triggers carries it. After the factory, the
collector asks the driver:

1. ``statusTracker().getJobIdsForGroup(group)``: the factory's jobs;
2. ``statusStore().job(id)``: each job's status and stage ids;
3. ``statusStore().lastStageAttempt(id)``: each stage's tasks, records,
   bytes, shuffle, spill, executor run and CPU time and JVM GC time;
4. for each stage that ran, ``statusStore().executorSummary(id, attempt)``
   (the REST API's ``executorSummary`` of a stage: task attempts per
   executor) and ``statusStore().taskSummary(id, attempt, [1.0])`` (the
   largest task's peak execution memory, as the stage page's quantiles).
   In local mode (``local``, ``local[N]``) every task ran on the driver, so
   the executor summary is not asked for.

On a cluster, the executors' tasks report these figures to the driver with
their results, so the driver's store has them for every executor: nothing is
read from the executors themselves.

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
import threading
import weakref
from typing import TYPE_CHECKING, Any

from pysetl.monitoring.metrics._records import SparkFigures

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from pysetl.monitoring.metrics._connect import ConnectStatus

__all__ = [
    "SparkStatus",
    "json_mapper",
    "read_spark_figures",
    "spark_status",
    "wait_for_listeners",
]

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


# One ``SparkStatus`` per live SparkContext, shared by every collector and
# sampler of the process: a new JSON mapper learns each record class again
# (about 50 ms of wall and 150 ms of JVM CPU the first time it serialises a
# job and a stage), so making one per run cost more than the readings.
# Keyed weakly: a stopped and forgotten SparkContext takes its entry along.
_STATUSES: weakref.WeakKeyDictionary[Any, SparkStatus] = weakref.WeakKeyDictionary()
_STATUSES_LOCK = threading.Lock()


def spark_status(spark_context: Any) -> SparkStatus:
    """The shared ``SparkStatus`` of ``spark_context`` (made on first use).

    Added in 0.7.
    """
    with _STATUSES_LOCK:
        try:
            status = _STATUSES.get(spark_context)
        except TypeError:  # no weak reference to it (a stand-in): not kept
            return SparkStatus(spark_context)
        if status is None:
            status = _STATUSES[spark_context] = SparkStatus(spark_context)
        return status


def json_mapper(spark_context: Any) -> Any:
    """A JVM Jackson mapper that serialises Spark's status records, as the REST API."""
    jvm = spark_context._jvm  # noqa: SLF001 - no public accessor
    mapper = jvm.com.fasterxml.jackson.databind.ObjectMapper()
    scala = getattr(jvm.com.fasterxml.jackson.module.scala, _SCALA_MODULE)
    mapper.registerModule(getattr(scala, "MODULE$"))
    return mapper


class SparkStatus:
    """The driver's status records of one SparkContext, each read as JSON.

    Every Py4J round trip costs the driver about 0.2 ms of wall time, and a
    factory is looked at twice (its figures, its last progress sample). So
    the JVM objects asked are looked up once per SparkContext and kept: the
    status tracker, the status store, the listener bus and the JSON mapper.
    A job group's job ids come back as one JSON text (pyspark's tracker
    fetches a Java array element by element), and a job's status record
    (``JobData``, as the REST API's ``/jobs/<id>``) carries its task and stage
    counts, so progress needs no call per stage.

    Args:
        spark_context: The running (classic) SparkContext.
        make_mapper: Returns the JVM JSON mapper for ``spark_context``.
    """

    __slots__ = (
        "_bus",
        "_local",
        "_mapper",
        "_quantiles",
        "_store",
        "_tracker",
        "spark_context",
    )

    def __init__(
        self, spark_context: Any, make_mapper: Callable[[Any], Any] = json_mapper
    ) -> None:
        """Look up the JVM objects (a few Py4J calls, once)."""
        jsc = spark_context._jsc.sc()  # noqa: SLF001 - no public accessor
        self.spark_context = spark_context
        self._tracker = jsc.statusTracker()
        self._store = jsc.statusStore()
        self._bus = jsc.listenerBus()
        self._mapper = make_mapper(spark_context)
        self._quantiles: Any = None  # a JVM double[] {1.0}, made when first asked
        master = str(spark_context.master)
        self._local = master == "local" or master.startswith("local[")

    def job_ids(self, group: str) -> list[int]:
        """The ids of the jobs of job group ``group``, in ascending order."""
        found = self._tracker.getJobIdsForGroup(group)
        return sorted(json.loads(self._mapper.writeValueAsString(found)))

    def job(self, job_id: int) -> dict[str, Any] | None:
        """Job ``job_id``'s record (``None``: the store no longer has it)."""
        try:
            record = self._store.job(job_id)
        except Exception as exc:
            if "NoSuchElementException" in str(exc):  # dropped: spark.ui.retainedJobs
                return None
            raise
        return json.loads(self._mapper.writeValueAsString(record))  # type: ignore[no-any-return]

    def stage(self, stage_id: int) -> dict[str, Any] | None:
        """The last attempt of stage ``stage_id`` (``None``: the store dropped it)."""
        try:
            record = self._store.lastStageAttempt(stage_id)
        except Exception as exc:
            if "NoSuchElementException" in str(exc):  # spark.ui.retainedStages
                return None
            raise
        return json.loads(self._mapper.writeValueAsString(record))  # type: ignore[no-any-return]

    def executor_tasks(
        self, stage_id: int, attempt: int, stage: dict[str, Any] | None = None
    ) -> dict[str, int]:
        """Task attempts per executor id of one stage attempt.

        In local mode every task runs on the driver: its counts in ``stage``
        (the attempt's record, when given) say it all, with no call.
        """
        if self._local and stage is not None:
            return {_DRIVER: sum(stage.get(key, 0) for key in _STAGE_TASK_COUNTS)}
        record = self._store.executorSummary(stage_id, attempt)
        found = json.loads(self._mapper.writeValueAsString(record)) or {}
        return {
            executor: sum(summary.get(key, 0) for key in _TASK_COUNTS)
            for executor, summary in found.items()
        }

    def peak_task_memory(self, stage_id: int, attempt: int) -> int:
        """The largest peak execution memory of one task of a stage attempt."""
        record = self._store.taskSummary(stage_id, attempt, self._max_quantile())
        found = json.loads(self._mapper.writeValueAsString(record)) or {}
        peaks = found.get("peakExecutionMemory") or [0]
        return int(peaks[-1])

    def _max_quantile(self) -> Any:
        quantiles = self._quantiles
        if quantiles is None:
            sc = self.spark_context
            quantiles = self._quantiles = sc._gateway.new_array(sc._jvm.double, 1)  # noqa: SLF001
            quantiles[0] = 1.0
        return quantiles

    def wait(self, wait_seconds: float) -> bool:
        """Wait until the listener bus is empty, at most ``wait_seconds``."""
        try:
            self._bus.waitUntilEmpty(int(wait_seconds * _MILLIS))
        except Exception:  # noqa: BLE001 - a py4j error wrapping Java's TimeoutException
            return False
        return True


def read_spark_figures(
    spark_context: Any,
    group: str,
    *,
    make_mapper: Callable[[Any], Any] = json_mapper,
    skip: Collection[int] = (),
    wait_seconds: float = 2.0,
    max_jobs: int = 200,
    status: SparkStatus | ConnectStatus | None = None,
) -> tuple[SparkFigures | None, list[int]]:
    """The figures of the Spark jobs of job group ``group``.

    Args:
        spark_context: The running (classic) SparkContext.
        group: The job group id.
        make_mapper: Returns the JVM JSON mapper for ``spark_context`` (used
            when no ``status`` is given).
        skip: Job ids already attributed (to an earlier attempt of the factory).
        wait_seconds: How long to wait for Spark's listener bus.
        max_jobs: At most this many jobs are read (the most recent ones).
        status: The ``SparkStatus`` of ``spark_context``, kept by the caller
            (default: a new one, a few more Py4J calls), or the
            ``ConnectStatus`` of a Spark Connect session.

    Returns:
        The figures summed over the group's new jobs and their stages (``None``
        when it ran no Spark job), and the ids of those jobs.
    """
    if status is None:
        status = SparkStatus(spark_context, make_mapper)
    skipped = set(skip)
    job_ids = [i for i in status.job_ids(group) if i not in skipped]
    if not job_ids:
        return None, []
    complete = status.wait(wait_seconds)
    if len(job_ids) > max_jobs:
        complete = False
        job_ids = job_ids[-max_jobs:]
    totals: dict[str, Any] = dict.fromkeys(_COUNTS, 0)
    totals["executor_run_seconds"] = totals["executor_cpu_seconds"] = 0.0
    totals["jvm_gc_seconds"] = 0.0
    executors: dict[str, int] = {}
    totals["jobs"] = len(job_ids)
    seen: set[int] = set()
    for job_id in job_ids:
        job = status.job(job_id)
        if job is None:
            complete = False
            continue
        if job["status"] == _FAILED_JOB:
            totals["failed_jobs"] += 1
        if not _add_stages(totals, executors, status, job["stageIds"], seen):
            complete = False
    totals["executor_tasks"] = tuple(sorted(executors.items()))
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
    "peak_execution_memory_bytes",
)
_TASK_COUNTS = ("succeededTasks", "failedTasks", "killedTasks")
_STAGE_TASK_COUNTS = ("numCompleteTasks", "numFailedTasks", "numKilledTasks")
_DRIVER = "driver"  # the executor id of local mode
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


def _add_stages(
    totals: dict[str, Any],
    executors: dict[str, int],
    status: SparkStatus | ConnectStatus,
    stage_ids: list[int],
    seen: set[int],
) -> bool:
    """Add a job's stages not ``seen`` yet; whether the store still had them all."""
    complete = True
    for stage_id in stage_ids:
        if stage_id in seen:
            continue
        seen.add(stage_id)
        stage = status.stage(stage_id)
        if stage is None:  # dropped from the store: the sums miss it
            complete = False
        elif _add_stage(totals, stage):
            _add_executors(totals, executors, status, stage)
    return complete


def _add_stage(totals: dict[str, Any], stage: dict[str, Any]) -> bool:
    """Add a stage's figures; whether it ran (a skipped stage adds nothing)."""
    if stage["status"] not in _STAGE_RAN:  # skipped or pending
        return False
    failed = stage.get("numFailedTasks", 0)
    totals["stages"] += 1
    totals["tasks"] += stage.get("numCompleteTasks", 0) + failed
    totals["failed_tasks"] += failed
    for ours, theirs in _FIELDS:
        totals[ours] += stage.get(theirs, 0)
    totals["executor_run_seconds"] += stage.get("executorRunTime", 0) / _MILLIS
    totals["executor_cpu_seconds"] += stage.get("executorCpuTime", 0) / _NANOS
    totals["jvm_gc_seconds"] += stage.get("jvmGcTime", 0) / _MILLIS
    return True


def _add_executors(
    totals: dict[str, Any],
    executors: dict[str, int],
    status: SparkStatus | ConnectStatus,
    stage: dict[str, Any],
) -> None:
    """Add a stage's task attempts per executor and its largest task's peak memory."""
    stage_id, attempt = stage["stageId"], stage.get("attemptId", 0)
    for executor, tasks in status.executor_tasks(stage_id, attempt, stage).items():
        executors[executor] = executors.get(executor, 0) + tasks
    peak = _largest_task_peak(status, stage)
    totals["peak_execution_memory_bytes"] = max(
        totals["peak_execution_memory_bytes"], peak
    )


def _largest_task_peak(
    status: SparkStatus | ConnectStatus, stage: dict[str, Any]
) -> int:
    """The largest task's peak execution memory of a stage attempt.

    The stage record holds the sum over its tasks: when it is 0, or the stage
    ran one task and it succeeded, the sum is the answer, and the quantiles
    (the dearest lookup, about 1 ms of driver and JVM time) are not asked for.
    """
    total = int(stage.get("peakExecutionMemory") or 0)
    one_task = (
        stage.get("numCompleteTasks", 0) == 1
        and not stage.get("numFailedTasks", 0)
        and not stage.get("numKilledTasks", 0)
    )
    if total == 0 or one_task:
        return total
    return status.peak_task_memory(stage["stageId"], stage.get("attemptId", 0))
