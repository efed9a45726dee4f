"""Spark figures of one factory, found through its job group.

How attribution works: the engine sets the Spark job group
``pysetl:<run id>:<factory>`` in the thread that runs a factory, so every
Spark job that the factory triggers carries it.

By default pysetl's Spark listener (``jvm/GroupListener.java``, registered by
``SparkStatus.listen`` when a run starts) sums each group's figures in the
driver's JVM as the events arrive, and the collector takes them in one call
after the factory (``SparkStatus.take``). Without it (it cannot be loaded,
``PYSETL_SPARK_LISTENER=0``, or the run began before it was registered) the
collector reads the status store after the factory:

1. the factory's jobs: when the run's first job id is known (the
   collector and the sampler note the DAG scheduler's next job id when the
   run starts, ``SparkStatus.start_run``), the jobs from that id to the
   next one now whose record names the group; each job's group is read once
   with its record. Otherwise ``statusTracker().getJobIdsForGroup(group)``,
   which builds the record of every job the store keeps (up to
   ``spark.ui.retainedJobs``) and costs two Py4J calls: 0.2 ms with few
   jobs kept, 0.5 ms with 1,000, against 0.03-0.1 ms from the first id
   (``benchmarks/spark_reads.py``);
2. ``statusStore().job(id)``: each job's status and stage ids;
3. ``statusStore().stageAttempt(id, 0, ...)``: each stage's tasks, records,
   bytes, shuffle, spill, executor run and CPU time and JVM GC time. The
   first attempt is read by its key; when it failed, or belongs to an
   earlier job (a stage submitted again), ``lastStageAttempt(id)`` is asked
   instead, which sorts every stage the store keeps (up to
   ``spark.ui.retainedStages``: 0.8 ms a stage with 600 kept, against
   0.2 ms by key). A job whose
   record says that all its stages but one were skipped (their shuffle
   output was reused) has only its result stage read: the one with the
   highest id;
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
import logging
import threading
import weakref
from importlib import resources
from typing import TYPE_CHECKING, Any

from pysetl.monitoring.metrics._records import SparkFigures
from pysetl.settings import settings_of

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from pysetl.monitoring.metrics._connect import ConnectStatus

__all__ = [
    "LISTENER_CLASS",
    "SparkStatus",
    "json_mapper",
    "listener_jar",
    "read_spark_figures",
    "spark_status",
    "wait_for_listeners",
]

_LOGGER = logging.getLogger(__name__)
LISTENER_CLASS = "pysetl.jvm.GroupListener"
"""pysetl's Spark listener (``jvm/GroupListener.java``; added in 0.8)."""
_FAILED_JOB = "FAILED"
_JOB_ENDED = frozenset({"SUCCEEDED", _FAILED_JOB})
_FINISHED_JOBS = 1024  # records of ended jobs a SparkStatus keeps
_RUNS = 64  # runs whose first job id a SparkStatus keeps
_SCAN_JOBS = 2048  # at most so many job ids are looked at for one group
_TAKEN_KEPT = 1024  # job ids of so many taken groups are kept (as the listener)
_UNKNOWN = object()
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


def listener_jar() -> str:
    """The path of the jar that holds pysetl's Spark listener (added in 0.8)."""
    here = resources.files("pysetl.monitoring.metrics")
    return str(here / "jvm" / "pysetl-listener.jar")


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
        "_attempt_args",
        "_bus",
        "_finished",
        "_groups",
        "_listener",
        "_listening_from",
        "_local",
        "_lock",
        "_mapper",
        "_next_job",
        "_quantiles",
        "_runs",
        "_store",
        "_taken",
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
        # stageAttempt's other arguments (made when first asked); False: this
        # Spark has no such method, lastStageAttempt is asked.
        self._attempt_args: tuple[Any, ...] | bool = True
        # Records of ended jobs (they no longer change), oldest first: the
        # progress sampler reads a job while it runs, the collector after.
        self._finished: dict[int, dict[str, Any]] = {}
        self._groups: dict[int, str | None] = {}  # job id: its job group
        self._runs: dict[str, int] = {}  # run id: the first job id it can have
        # Job ids of the groups taken lately (the tracing exporter asks for
        # them after the metrics collector took the group's figures).
        self._taken: dict[str, list[int]] = {}
        self._next_job: Any = None  # the DAG scheduler (False: not reachable)
        # pysetl's listener (None: not registered yet; False: it cannot be)
        # and the first job id it saw start.
        self._listener: Any = None
        self._listening_from: int | None = None
        self._lock = threading.Lock()
        master = str(spark_context.master)
        self._local = master == "local" or master.startswith("local[")

    def job_ids(self, group: str, first: int | None = None) -> list[int]:
        """The ids of the jobs of job group ``group``, in ascending order.

        Args:
            group: The job group.
            first: No job of the group has a lower id (``first_job(run_id)``);
                the jobs from there on are looked at, each record read once.
                Default: every job the store keeps (one costly call).
        """
        end = None if first is None else self.next_job_id()
        if end is None or first is None or end - first > _SCAN_JOBS:
            found = self._tracker.getJobIdsForGroup(group)
            return sorted(json.loads(self._mapper.writeValueAsString(found)))
        groups, ids = self._groups, []
        for job_id in range(first, end):
            job_group = groups.get(job_id, _UNKNOWN)
            if job_group is _UNKNOWN:
                record = self.job(job_id)  # notes its group
                if record is None:  # not in the store (yet, or any more)
                    continue
                job_group = record.get("jobGroup")
            if job_group == group:
                ids.append(job_id)
        return ids

    def next_job_id(self) -> int | None:
        """The id Spark gives its next job (``None``: this Spark does not say)."""
        scheduler = self._next_job
        if scheduler is False:
            return None
        try:
            if scheduler is None:
                sc = self.spark_context._jsc.sc()  # noqa: SLF001 - no public accessor
                scheduler = self._next_job = sc.dagScheduler()
            return int(scheduler.nextJobId())
        except Exception:  # noqa: BLE001 - an internal accessor this Spark lacks
            self._next_job = False
            return None

    def listen(self) -> bool:
        """Register pysetl's Spark listener (once); whether it listens.

        The listener (``jvm/GroupListener.java``, loaded from the jar that
        ships with pysetl) sums the figures of each pysetl job group in the
        driver's JVM as Spark's listener bus delivers its events, so that a
        factory's figures cost one Py4J call (``take``). When it cannot be
        loaded (a Java older than 17, a JVM that cannot read the jar, a
        Spark without the accessors used), this says so once in a debug
        line and the figures are read from the status store instead, as
        they are with ``PYSETL_SPARK_LISTENER=0``.
        """
        if self._listener is None and not settings_of(strict=False).spark_listener:
            self._listener = False
        if self._listener is None:
            with self._lock:
                if self._listener is None:
                    self._listener = self._register()
        return self._listener is not False

    def _register(self) -> Any:
        """Register the listener with Spark's listener bus; it, or ``False``."""
        sc = self.spark_context
        try:
            jvm, gateway = sc._jvm, sc._gateway  # noqa: SLF001 - no public accessor
            urls = gateway.new_array(jvm.java.net.URL, 1)
            urls[0] = jvm.java.io.File(listener_jar()).toURI().toURL()
            parent = sc._jsc.getClass().getClassLoader()  # noqa: SLF001 - Spark's
            loader = jvm.java.net.URLClassLoader(urls, parent)
            make = loader.loadClass(LISTENER_CLASS).getDeclaredConstructor(
                gateway.new_array(jvm.java.lang.Class, 0)
            )
            listener = make.newInstance(gateway.new_array(jvm.java.lang.Object, 0))
            sc._jsc.sc().addSparkListener(listener)  # noqa: SLF001 - no public accessor
        except Exception as exc:  # noqa: BLE001 - any failure: the store is read
            _LOGGER.debug(
                "pysetl's Spark listener is off: %s: %s", type(exc).__name__, exc
            )
            return False
        # Jobs submitted from now on are seen from their start.
        self._listening_from = self.next_job_id()
        return listener

    def listens_to(self, run_id: str) -> bool:
        """Whether pysetl's listener saw every job of run ``run_id``.

        True when it was registered before the run's first job id was noted
        (``start_run``).
        """
        first, since = self._runs.get(run_id), self._listening_from
        return first is not None and since is not None and first >= since

    def take(
        self, group: str, wait_seconds: float
    ) -> tuple[SparkFigures | None, list[int]]:
        """The figures of job group ``group`` summed by pysetl's listener.

        Waits (at most ``wait_seconds``) until the listener bus delivered
        every event, then takes the group's sums, which the listener then
        forgets: a group is taken once (each attempt of a factory has its
        own). Needs ``listen()`` to have returned True.

        Returns:
            The figures (``None`` when the group ran no Spark job) and the
            ids of its jobs.
        """
        complete = self.wait(wait_seconds)
        text = self._listener.take(group)
        if text is None:
            return None, []
        found: dict[str, Any] = json.loads(text)
        job_ids: list[int] = found.pop("job_ids")
        taken = self._taken
        with self._lock:
            taken[group] = job_ids
            if len(taken) > _TAKEN_KEPT:
                del taken[next(iter(taken))]
        executors: dict[str, int] = found.pop("executors")
        found["executor_run_seconds"] = found.pop("run_millis") / _MILLIS
        found["executor_cpu_seconds"] = found.pop("cpu_nanos") / _NANOS
        found["jvm_gc_seconds"] = found.pop("gc_millis") / _MILLIS
        figures = SparkFigures(
            complete=complete, executor_tasks=tuple(sorted(executors.items())), **found
        )
        return figures, job_ids

    def group_job_ids(self, group: str, run_id: str, wait_seconds: float) -> list[int]:
        """The ids of the jobs of job group ``group`` of run ``run_id``, ascending.

        From pysetl's listener when it saw the whole run: no call when the
        group's figures were taken (``take``, which waited for the listener
        bus), else one call after waiting at most ``wait_seconds`` for the
        bus. Without the listener, from the run's first job on
        (``job_ids``). Added in 0.8; changed in 0.9: no call after ``take``.
        """
        if self.listens_to(run_id):
            taken = self._taken.get(group)
            if taken is not None:
                return list(taken)
        self.wait(wait_seconds)
        if self.listens_to(run_id):
            found: list[int] = json.loads(self._listener.jobIds(group))
            return found
        return self.job_ids(group, self.first_job(run_id))

    def progress(self, groups: Collection[str]) -> dict[str, list[dict[str, Any]]]:
        """The job records of job groups ``groups`` kept by pysetl's listener.

        One Py4J call for every group; each record has the status store's
        names for the fields that progress shows (``jobId``, ``status``,
        ``stageIds``, ``numTasks``, ``numCompletedTasks``, ``numFailedTasks``,
        ``numActiveTasks``, ``numCompletedStages``), oldest job first. A group
        that ran no job yet is left out. Needs ``listen()`` to have returned
        True; a group's records are forgotten when its figures are taken.
        """
        found: dict[str, list[dict[str, Any]]] = json.loads(
            self._listener.progress("\n".join(groups))
        )
        return found

    def start_run(self, run_id: str) -> None:
        """Note that run ``run_id`` starts: its jobs get ids from the next one on.

        Called (on the run's thread, before its first factory) by every
        observer that reads its jobs; the first call asks Spark (one Py4J
        call), the others find it noted. The last ``_RUNS`` runs are kept.
        The first run of a SparkContext also registers pysetl's listener
        (``listen``), before its first job id is noted.
        """
        if run_id in self._runs:
            return
        self.listen()
        first = self.next_job_id()
        if first is None:
            return
        with self._lock:
            runs = self._runs
            runs.setdefault(run_id, first)
            if len(runs) > _RUNS:
                del runs[next(iter(runs))]

    def first_job(self, run_id: str) -> int | None:
        """The lowest job id run ``run_id`` can have (``None``: not noted)."""
        return self._runs.get(run_id)

    def job(self, job_id: int) -> dict[str, Any] | None:
        """Job ``job_id``'s record (``None``: the store no longer has it).

        The record of a job that ended is read once and kept (the last
        ``_FINISHED_JOBS`` of them): the same dict is returned to every
        caller, who must not change it.
        """
        known = self._finished.get(job_id)
        if known is not None:
            return known
        try:
            record = self._store.job(job_id)
        except Exception as exc:
            if "NoSuchElementException" in str(exc):  # dropped: spark.ui.retainedJobs
                return None
            raise
        found: dict[str, Any] = json.loads(self._mapper.writeValueAsString(record))
        groups = self._groups
        groups[job_id] = found.get("jobGroup")  # a job's group never changes
        if len(groups) > _FINISHED_JOBS * 4:
            with self._lock:
                for old in list(groups)[:_FINISHED_JOBS]:
                    groups.pop(old, None)
        if found.get("status") in _JOB_ENDED:
            with self._lock:
                finished = self._finished
                finished[job_id] = found
                if len(finished) > _FINISHED_JOBS:
                    del finished[next(iter(finished))]
        return found

    def stage(self, stage_id: int, since: int | None = None) -> dict[str, Any] | None:
        """The last attempt of stage ``stage_id`` (``None``: the store dropped it).

        Args:
            stage_id: The stage.
            since: When the job that names the stage was submitted (epoch
                milliseconds, its record's ``submissionTime``): a first
                attempt submitted before is an earlier job's, so the last
                attempt is looked up.
        """
        first = self._first_attempt(stage_id)
        if (
            first is not None
            and first.get("status") != _FAILED_JOB
            and (since is None or (first.get("submissionTime") or since) >= since)
        ):
            return first
        try:
            record = self._store.lastStageAttempt(stage_id)
        except Exception as exc:
            if "NoSuchElementException" in str(exc):  # spark.ui.retainedStages
                return None
            raise
        return json.loads(self._mapper.writeValueAsString(record))  # type: ignore[no-any-return]

    def _first_attempt(self, stage_id: int) -> dict[str, Any] | None:
        """Attempt 0 of stage ``stage_id``, read by its key (``None``: not so read)."""
        args = self._attempt_args
        if args is False:
            return None
        if args is True:
            sc = self.spark_context
            args = self._attempt_args = (
                False,  # details: no task list
                sc._jvm.java.util.Collections.emptyList(),  # noqa: SLF001 - task statuses
                False,  # no summaries
                sc._gateway.new_array(sc._jvm.double, 0),  # noqa: SLF001 - no quantiles
            )
        try:
            pair = self._store.stageAttempt(stage_id, 0, *args)
        except Exception as exc:  # noqa: BLE001 - a py4j error: the last attempt is asked
            if "does not exist" in str(exc):  # this Spark has no such method
                self._attempt_args = False
            return None
        # A pair: the stage attempt's record and its executors' ids.
        found = json.loads(self._mapper.writeValueAsString(pair))
        return found[0] if isinstance(found, list) and found else None

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
    first_job: int | None = None,
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
        first_job: No job of the group has a lower id (see
            ``SparkStatus.job_ids``; added in 0.7).

    Returns:
        The figures summed over the group's new jobs and their stages (``None``
        when it ran no Spark job), and the ids of those jobs.
    """
    if status is None:
        status = SparkStatus(spark_context, make_mapper)
    skipped = set(skip)
    if first_job is None or not isinstance(status, SparkStatus):
        job_ids = [i for i in status.job_ids(group) if i not in skipped]
        if not job_ids:
            return None, []
        complete = status.wait(wait_seconds)
    else:  # the records are read: the listener bus must have written them
        complete = status.wait(wait_seconds)
        job_ids = [i for i in status.job_ids(group, first_job) if i not in skipped]
        if not job_ids:
            return None, []
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
        stages, since = _stages_that_ran(job), job.get("submissionTime")
        if not _add_stages(totals, executors, status, stages, seen, since):
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


def _stages_that_ran(job: dict[str, Any]) -> list[int]:
    """The stage ids of ``job`` worth reading (see the module docstring).

    An ended job whose stages all but one were skipped ran its result stage
    only, which Spark makes after its parents: the highest id.
    """
    ids: list[int] = job["stageIds"]
    if (
        len(ids) > 1
        and job.get("status") in _JOB_ENDED
        and not job.get("numFailedStages")
        and job.get("numSkippedStages") == len(ids) - 1
    ):
        return [max(ids)]
    return ids


def _add_stages(  # noqa: PLR0917 - the loop's state, passed along
    totals: dict[str, Any],
    executors: dict[str, int],
    status: SparkStatus | ConnectStatus,
    stage_ids: list[int],
    seen: set[int],
    since: int | None = None,
) -> bool:
    """Add a job's stages not ``seen`` yet; whether the store still had them all.

    ``since``: the job's submission time (see ``SparkStatus.stage``).
    """
    complete = True
    for stage_id in stage_ids:
        if stage_id in seen:
            continue
        seen.add(stage_id)
        stage = status.stage(stage_id, since)
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
