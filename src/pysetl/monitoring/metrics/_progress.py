"""``SparkProgressSampler``: Spark progress of the running factories, into the history.

Mechanism: the engine sets the Spark job group ``pysetl:<run id>:<factory>``
in the thread of each factory (see ``pysetl.workflow.spark``). While factories run, a
periodic task of the observers' writer thread (``pysetl.utils.writer``)
asks every ``interval`` seconds for the jobs of their groups, and for each
job its status and the task counts of its stages: pysetl's Spark listener
keeps them (one Py4J call a sample, ``SparkStatus.progress``), else Spark's
status store is read (``read_group_jobs``). When the jobs of a run differ
from the last sample, it writes one ``spark_progress`` event (data:
``{"jobs": [...]}``) to the run history, so that another process (the
dashboard) can show it. When a factory ends it leaves the sample; when the
run ends an empty sample closes it.

Cost is bounded: only the factories running now are asked about, at most
``max_jobs`` jobs each, and a finished job is read once. Like every
observer it never fails a run: a failing tracker or store is logged and
counted in ``errors``, and ``close()`` stops the periodic task.

Usage::

    sampler = SparkProgressSampler(history)
    Pipeline(hooks=HookManager(observers=[recorder, sampler])).add_stage(...).run()
    sampler.close()

pyspark is never imported here: the sampler uses the running SparkContext
(or the one passed in), or does nothing.

Added in 0.3.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from pysetl.monitoring.history.ops import AddEvent
from pysetl.monitoring.metrics._spark import SparkStatus, spark_status
from pysetl.utils.writer import shared_writer
from pysetl.workflow.hooks import hook_impl
from pysetl.workflow.spark import active_spark_context, job_group

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from pysetl.monitoring.history import BaseRunHistory
    from pysetl.utils.writer import BackgroundWriter, Ticker

__all__ = [
    "SPARK_PROGRESS_EVENT",
    "SparkProgressSampler",
    "progress_entry",
    "read_group_jobs",
]

SPARK_PROGRESS_EVENT = "spark_progress"
"""The event that holds a run's last Spark progress sample (``{"jobs": [...]}``)."""

_LOGGER = logging.getLogger(__name__)
_FINAL = frozenset({"SUCCEEDED", "FAILED"})


def read_group_jobs(
    spark_context: Any,
    group: str,
    factory: str,
    *,
    attempt: int = 1,
    max_jobs: int = 50,
    finished: dict[int, dict[str, Any]] | None = None,
    status: SparkStatus | None = None,
    first: int | None = None,
) -> list[dict[str, Any]]:
    """The progress of the Spark jobs of job group ``group``, oldest first.

    Each job's counts come from its status record (one JSON text: its tasks
    and stages, as the REST API's ``/jobs/<id>``), not from one call per
    stage.

    Args:
        spark_context: The running (classic) SparkContext.
        group: The job group id.
        factory: The factory name written into each job's entry.
        attempt: The factory's attempt, written into each job's entry from
            the second on (added in 0.6).
        max_jobs: At most this many jobs (the most recent ones).
        finished: A cache of finished jobs by id, read once and then reused.
        status: The ``SparkStatus`` of ``spark_context`` (default: the shared
            one, ``spark_status``).
        first: No job of the group has a lower id (the run's
            ``SparkStatus.first_job``; added in 0.7).
    """
    if status is None:
        status = spark_status(spark_context)
    cache = {} if finished is None else finished
    jobs: list[dict[str, Any]] = []
    for job_id in status.job_ids(group, first)[-max_jobs:]:
        known = cache.get(job_id)
        if known is not None:
            jobs.append(known)
            continue
        record = status.job(job_id)
        if record is None:
            continue
        entry = progress_entry(record, factory, attempt)
        if entry["status"] in _FINAL:
            cache[job_id] = entry
        jobs.append(entry)
    return jobs


def progress_entry(
    record: dict[str, Any], factory: str, attempt: int
) -> dict[str, Any]:
    """One job's entry of a progress sample, from its status record.

    ``record`` has the names of the status store's job record (``JobData``),
    whether it came from the store or from pysetl's listener.
    """
    entry: dict[str, Any] = {
        "factory": factory,
        "job_id": int(record["jobId"]),
        "status": str(record["status"]),
        "stages_total": len(record["stageIds"]),
        "num_tasks": record["numTasks"],
        "completed_tasks": record["numCompletedTasks"],
        "failed_tasks": record["numFailedTasks"],
        "active_tasks": record["numActiveTasks"],
        "stages_done": record["numCompletedStages"],
    }
    if attempt > 1:
        entry["attempt"] = attempt
    if entry["status"] == "SUCCEEDED":
        # Stages skipped (their shuffle output was reused) never run their
        # tasks: a finished job shows what ran, all done.
        entry["stages_done"] = entry["stages_total"]
        entry["num_tasks"] = entry["completed_tasks"]
    return entry


class SparkProgressSampler:
    """Samples the Spark jobs of the running factories into the run history.

    Args:
        history: The store to write samples to.
        interval: Seconds between two samples.
        spark_context: The SparkContext to ask (default: the running one).
        max_jobs: At most this many jobs per factory in a sample.
        writer: The observers' writer thread; default: the process-wide one.

    Attributes:
        errors: Samples that failed (each is logged), or that the writer
            refused (closed, or full).
        written: Samples handed to the writer, which writes them with its
            next batch (a store that fails is retried, then the batch is
            dropped and counted in ``writer.failures``; changed in 0.8).
    """

    # Its events only note which factories run (samples are taken on the
    # writer's thread): delivered where they happen, nothing is queued.
    pysetl_inline = True

    def __init__(
        self,
        history: BaseRunHistory,
        *,
        interval: float = 0.5,
        spark_context: Any = None,
        max_jobs: int = 50,
        writer: BackgroundWriter | None = None,
    ) -> None:
        """Create the sampler; it starts sampling with the first factory."""
        self.history = history
        self.interval = interval
        self.spark_context = spark_context
        self.max_jobs = max_jobs
        self.errors = 0
        self.written = 0
        self._lock = threading.Lock()
        # run id -> factory -> (pipeline, attempt)
        self._running: dict[str, dict[str, tuple[str, int]]] = {}
        self._last: dict[str, list[dict[str, Any]]] = {}
        self._finished: dict[str, dict[int, dict[str, Any]]] = {}
        self._writer = writer
        self._ticker: Ticker | None = None
        self._status: SparkStatus | None = None  # the writer's thread only

    @property
    def writer(self) -> BackgroundWriter:
        """The writer thread the samples are taken on."""
        return self._writer if self._writer is not None else shared_writer()

    # ----------------------------------------------------------------- hooks
    @hook_impl
    def before_factory_run(
        self, *, run_id: str, pipeline_name: str, factory_name: str, attempt: int = 1
    ) -> None:
        """Start sampling the factory's job group (nothing to do without Spark)."""
        spark_context = self.spark_context or active_spark_context()
        if spark_context is None:
            return
        try:  # where the run's jobs start (noted once a run, by the first observer)
            self._status_of(spark_context).start_run(run_id)
        except Exception:  # an observer never fails the run: groups are asked
            self.errors += 1
            _LOGGER.exception("pysetl cannot read Spark's next job id")
        with self._lock:
            self._running.setdefault(run_id, {})[factory_name] = (
                pipeline_name,
                attempt,
            )
            start = self._ticker is None
            if start:
                self._ticker = self.writer.every(
                    self.interval, self.sample, key="pysetl-spark-progress"
                )

    @hook_impl
    def after_factory_run(self, *, run_id: str, factory_name: str) -> None:
        """Stop sampling the factory (the next sample leaves it out)."""
        self._leave(run_id, factory_name)

    @hook_impl
    def on_factory_run_failed(self, *, run_id: str, factory_name: str) -> None:
        """Stop sampling the factory (the next sample leaves it out)."""
        self._leave(run_id, factory_name)

    @hook_impl
    def after_pipeline_run(self, *, run_id: str) -> None:
        """Close the run's samples with an empty one."""
        self._end(run_id)

    @hook_impl
    def on_pipeline_run_failed(self, *, run_id: str) -> None:
        """Close the run's samples with an empty one."""
        self._end(run_id)

    def _leave(self, run_id: str, factory: str) -> None:
        with self._lock:
            running = self._running.get(run_id)
            if running is None or running.pop(factory, None) is None:
                return  # not sampled (no Spark when it started)
        self.writer.call(self.sample, key="pysetl-spark-progress")  # its last state

    def _end(self, run_id: str) -> None:
        with self._lock:
            self._running.pop(run_id, None)
            last = self._last.pop(run_id, None)
            self._finished.pop(run_id, None)
            ticker = None if self._running else self._ticker
            if ticker is not None:
                self._ticker = None
        if ticker is not None:
            ticker.cancel()
        if last:
            self.writer.call(self._write, run_id, [], key="pysetl-spark-progress")

    def sample(self) -> None:
        """Take one sample of every running factory now (and write changes)."""
        with self._lock:
            running = {rid: dict(f) for rid, f in self._running.items()}
        if not running:
            return
        spark_context = self.spark_context or active_spark_context()
        if spark_context is None:
            return
        for run_id, factories in running.items():
            try:
                jobs = self._read(spark_context, run_id, factories)
            except Exception:  # an observer never fails the run
                self.errors += 1
                _LOGGER.exception("pysetl cannot sample Spark progress")
                continue
            with self._lock:
                if self._last.get(run_id, []) == jobs or run_id not in self._running:
                    continue
                self._last[run_id] = jobs
            self._write(run_id, jobs)

    def _read(
        self,
        spark_context: Any,
        run_id: str,
        factories: dict[str, tuple[str, int]],
    ) -> list[dict[str, Any]]:
        status = self._status_of(spark_context)
        if status.listens_to(run_id):  # pysetl's listener has them all: one call
            groups = {
                job_group(run_id, pipeline, factory, attempt)[0]: (factory, attempt)
                for factory, (pipeline, attempt) in sorted(factories.items())
            }
            found = status.progress(groups)
            return [
                progress_entry(record, *groups[group])
                for group in groups
                for record in found.get(group, ())[-self.max_jobs :]
            ]
        cache = self._finished.setdefault(run_id, {})
        first = status.first_job(run_id)
        jobs: list[dict[str, Any]] = []
        for factory, (pipeline, attempt) in sorted(factories.items()):
            group, _ = job_group(run_id, pipeline, factory, attempt)
            jobs += read_group_jobs(
                spark_context,
                group,
                factory,
                attempt=attempt,
                max_jobs=self.max_jobs,
                finished=cache,
                status=status,
                first=first,
            )
        return jobs

    def _status_of(self, spark_context: Any) -> SparkStatus:
        status = self._status
        if status is None or status.spark_context is not spark_context:
            status = self._status = spark_status(spark_context)
        return status

    def _write(self, run_id: str, jobs: list[dict[str, Any]]) -> None:
        # Into the writer's batch of this pass (samples are taken on its
        # thread), with the other records: the writer retries a failing
        # store, then drops the batch and counts it (``writer.failures``).
        event = AddEvent(run_id, time.time(), SPARK_PROGRESS_EVENT, data={"jobs": jobs})
        if self.writer.put(self.history, event):
            self.written += 1
        else:  # the writer is closed or full, or the store cannot take it
            self.errors += 1

    def close(self, timeout: float = 5.0) -> None:
        """Stop sampling (it starts again with the next factory); idempotent."""
        with self._lock:
            ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
        self.writer.drain(timeout)

    def __enter__(self) -> Self:
        """Use the sampler as a context manager that closes it."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the sampler."""
        self.close()
