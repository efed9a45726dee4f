"""``MetricsCollector``: the observer that measures every factory attempt.

Mechanism (what is measured where, and why the run barely notices):

* in the factory's events (``before_factory_run``/``after_factory_run``,
  ``on_factory_run_failed``) it reads a few clocks: the thread's CPU time
  and the process's peak resident memory (``getrusage``), and, for the
  factories chosen by ``profile``, starts and stops ``cProfile`` and
  ``tracemalloc``. Phase wall times come with the events. These readings
  only make sense in the factory's own thread, so the collector asks the
  ``HookManager`` for inline delivery of its own events (``pysetl_inline``),
  whatever the other observers get; with ``inline=False`` its events come on
  the background thread and CPU time and profiles are left out;
* everything slow happens on the observers' one writer thread
  (``pysetl.utils.writer``), one task per factory: the Spark figures of the
  factory's job group (see ``pysetl.workflow.spark``), the row count when asked for
  (``count_rows``), the profile's statistics. A factory with none of these
  (no Spark running, not counted, not profiled) is completed in its own
  thread at once (with ``keep_runs=0``, the runtime's default, without a
  ``FactoryMetrics``). Rows for the run history go to the same writer, which
  batches them with every other observer's rows in one transaction;
* a failing lookup or store never fails the run: it is logged and counted
  in ``errors``, and the figure is left out.

Custom metrics (``pysetl.monitoring.kpi``) arrive as ``on_metric_recorded``
events and are aggregated per factory attempt.

Added in 0.2.
"""

from __future__ import annotations

import cProfile
import logging
import threading
import tracemalloc
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pysetl.monitoring.history.ops import AddMetric
from pysetl.monitoring.metrics._connect import ConnectStatus
from pysetl.monitoring.metrics._records import (
    FactoryMetrics,
    KpiValue,
    RunSummary,
    figure_samples,
)
from pysetl.monitoring.metrics._spark import (
    SparkStatus,
    read_spark_figures,
    spark_status,
)
from pysetl.monitoring.metrics._state import (
    End,
    Job,
    Open,
    RunState,
    max_rss,
    profile_lines,
    rows_of,
    samples,
    thread_readings,
    wants,
)
from pysetl.utils.redaction import redact_labels
from pysetl.utils.writer import on_writer_thread, shared_writer
from pysetl.workflow.hooks import hook_impl
from pysetl.workflow.spark import (
    active_connect_session,
    active_spark_context,
    is_connect,
    job_group,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from pysetl.monitoring.history import BaseRunHistory
    from pysetl.monitoring.metrics._state import Sample
    from pysetl.utils.writer import BackgroundWriter

__all__ = ["MetricsCollector"]

_LOGGER = logging.getLogger(__name__)
_Key = tuple[str, int, str, int]  # run id, stage, factory, attempt


class MetricsCollector:
    """Measures each factory attempt and summarises each run.

    Usage:

    ```python
    collector = MetricsCollector(history=open_history(), profile={"Join"})
    Pipeline(hooks=HookManager(observers=[collector])).add_stage(...).run()
    print(collector.summary(run_id))
    ```

    Args:
        history: Where to write the metrics (``record_metric`` rows), or ``None``.
        spark: Read Spark figures through the factories' job groups.
        spark_context: The SparkContext to ask, or a Spark Connect session
            (its server's REST API is read, see ``_connect``); default: the
            running SparkContext, else the active Connect session.
        spark_wait: Seconds to wait for Spark's listener bus per factory.
        max_jobs: At most this many Spark jobs are read per factory.
        profile: Profile every factory (``True``) or those named.
        count_rows: Count the output DataFrame's rows (a Spark job) of every
            factory (``True``) or of those named. Rows written to storage are
            counted for free in ``spark.output_records``.
        top: How many entries the summary's "slowest" lists hold.
        profile_lines: How many functions a profile keeps.
        keep_runs: How many runs' summaries are kept (oldest forgotten first);
            ``0`` keeps none (the history has the figures): no factory's
            figures stay in memory, which spares the garbage collector a
            long-lived object per factory on large runs.
        flush_timeout: Seconds ``summary()`` and ``close()`` wait for the writer.
        writer: The observers' writer thread; default: the process-wide one.
        inline: Ask for the events in the factory's thread (``pysetl_inline``),
            which CPU time and profiles need.
        cpu_clock: A thread CPU clock to use instead of ``getrusage``'s
            thread times (with the peak RSS read apart).

    Attributes:
        errors: Lookups or writes that failed (and were left out).
        dropped: Work the writer dropped because its queue was full.
    """

    def __init__(
        self,
        *,
        history: BaseRunHistory | None = None,
        spark: bool = True,
        spark_context: Any = None,
        spark_wait: float = 2.0,
        max_jobs: int = 200,
        profile: bool | Collection[str] = False,
        count_rows: bool | Collection[str] = False,
        top: int = 5,
        profile_lines: int = 10,
        keep_runs: int = 100,
        flush_timeout: float = 10.0,
        writer: BackgroundWriter | None = None,
        inline: bool = True,
        cpu_clock: Callable[[], float] | None = None,
    ) -> None:
        """Create the collector; its work goes to the writer thread."""
        self.pysetl_inline = inline
        self.history = history
        self.spark = spark
        self.spark_context = spark_context
        self.spark_wait = spark_wait
        self.max_jobs = max_jobs
        self.profile = profile
        self.count_rows = count_rows
        self.top = top
        self.profile_lines = profile_lines
        self.keep_runs = keep_runs
        self.flush_timeout = flush_timeout
        self.errors = 0
        self._writer = writer
        self._read: Callable[[], tuple[float, int | None]] = (
            thread_readings if cpu_clock is None else lambda: (cpu_clock(), max_rss())
        )
        self._runs: dict[str, RunState] = {}
        self._open: dict[_Key, Open] = {}
        self._kpis: dict[
            _Key, dict[tuple[str, str, tuple[tuple[str, str], ...]], KpiValue]
        ] = {}
        self._attributed: dict[str, dict[str, set[int]]] = {}
        self._lock = threading.Lock()
        self._status: SparkStatus | ConnectStatus | None = None  # the shared reader

    @property
    def writer(self) -> BackgroundWriter:
        """The writer thread the collector's slow work runs on."""
        return self._writer if self._writer is not None else shared_writer()

    @property
    def dropped(self) -> int:
        """Work the writer dropped (queue full or closed)."""
        return self.writer.dropped

    # ------------------------------------------------------------------ events
    @hook_impl
    def before_pipeline_run(self, *, run_id: str, pipeline_name: str) -> None:
        """Start a run's summary; note where its Spark jobs will start."""
        with self._lock:
            self._run(run_id, pipeline_name)
        spark_context = self._spark_context()
        if spark_context is not None and not is_connect(spark_context):
            try:
                spark_status(spark_context).start_run(run_id)
            except Exception as exc:  # noqa: BLE001 - Spark gone: read by group
                self._failed("pysetl metrics: cannot read Spark's next job id", exc)

    @hook_impl
    def after_pipeline_run(
        self, *, run_id: str, pipeline_name: str, duration: float, timestamp: float
    ) -> None:
        """Close a run's summary once its factories are complete."""
        self._end(run_id, pipeline_name, "succeeded", duration, timestamp)

    @hook_impl
    def on_pipeline_run_failed(
        self, *, run_id: str, pipeline_name: str, duration: float, timestamp: float
    ) -> None:
        """Close a failed run's summary once its factories are complete."""
        self._end(run_id, pipeline_name, "failed", duration, timestamp)

    @hook_impl
    def before_factory_run(
        self, *, run_id: str, stage_id: int, factory_name: str, attempt: int
    ) -> None:
        """Take the starting readings of a factory attempt."""
        if on_writer_thread():  # not the factory's thread: no CPU time
            opened = Open(None, None, max_rss())
        else:
            cpu, rss = self._read()
            opened = Open(threading.get_ident(), cpu, rss)
        inline = opened.thread is not None
        if inline and self.profile is not False and wants(self.profile, factory_name):
            if tracemalloc.is_tracing():
                tracemalloc.reset_peak()
            else:
                tracemalloc.start()
                opened.traced = True
            opened.profiler = cProfile.Profile()
            opened.profiler.enable()
        with self._lock:
            self._open[run_id, stage_id, factory_name, attempt] = opened

    @hook_impl
    def after_factory_run(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        stage_id: int,
        factory_name: str,
        attempt: int,
        timestamp: float,
        duration: float,
        phases: dict[str, float],
        output: Any,
    ) -> None:
        """Measure a factory attempt that succeeded."""
        key = (run_id, stage_id, factory_name, attempt)
        self._finish(key, pipeline_name, timestamp, duration, phases, None, output)

    @hook_impl
    def on_factory_run_failed(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        stage_id: int,
        factory_name: str,
        attempt: int,
        timestamp: float,
        duration: float,
        phases: dict[str, float],
        phase: str,
    ) -> None:
        """Measure a factory attempt that failed in ``phase``."""
        key = (run_id, stage_id, factory_name, attempt)
        self._finish(key, pipeline_name, timestamp, duration, phases, phase, None)

    @hook_impl
    def on_metric_recorded(
        self,
        *,
        run_id: str,
        stage_id: int | None,
        factory_name: str | None,
        attempt: int | None,
        name: str,
        kind: str,
        value: float,
        labels: dict[str, str],
    ) -> None:
        """Add a custom metric to its factory attempt."""
        key = (run_id, stage_id or 0, factory_name or "", attempt or 1)
        series = (name, kind, tuple(sorted(labels.items())) if labels else ())
        with self._lock:
            bucket = self._kpis.setdefault(key, {})
            old = bucket.get(series)
            bucket[series] = (
                KpiValue(name, kind, series[2], value, 1, value, value)
                if old is None
                else old.add(value)
            )

    # ------------------------------------------------------------- measuring
    def _run(self, run_id: str, pipeline: str) -> RunState:
        """The run's state (call with the lock held)."""
        run = self._runs.get(run_id)
        if run is None:
            run = self._runs[run_id] = RunState(pipeline)
            # keep_runs=0: runs are dropped when they end, never while running.
            while self.keep_runs and len(self._runs) > self.keep_runs:
                self._runs.pop(next(iter(self._runs)))
        return run

    def _finish(  # noqa: PLR0917 - internal, called by the two events above
        self,
        key: _Key,
        pipeline: str,
        timestamp: float,
        duration: float,
        phases: dict[str, float],
        failed_phase: str | None,
        output: Any,
    ) -> None:
        run_id, stage_id, factory, attempt = key
        with self._lock:
            opened = self._open.pop(key, None)
            kpis = self._kpis.pop(key, {})
        readings, profiler = ({}, None) if opened is None else opened.finish(self._read)
        if (
            profiler is None
            and not self.keep_runs
            and self._spark_context() is None
            and not wants(self.count_rows, factory)
        ):
            # Nothing slow to do (no Spark figures to wait for, no rows to
            # count, no profile to read) and no summary kept: its rows go
            # straight to the writer, without a task or a FactoryMetrics.
            figures = figure_samples(**readings, kpis=kpis.values())
            self._write(run_id, rows_of(figures, factory, attempt, timestamp))
            return
        metrics = FactoryMetrics(
            run_id=run_id,
            pipeline=pipeline,
            stage_id=stage_id,
            factory=factory,
            attempt=attempt,
            status="failed" if failed_phase is not None else "succeeded",
            duration_seconds=duration,
            phases=dict(phases),
            failed_phase=failed_phase,
            kpis=tuple(kpis.values()),
            started_at=timestamp - duration,
            **readings,
        )
        counted = output if wants(self.count_rows, factory) else None
        self._submit(Job(metrics, counted, profiler))

    def _end(
        self, run_id: str, pipeline: str, status: str, duration: float, ts: float
    ) -> None:
        with self._lock:
            self._run(run_id, pipeline)
        self._submit(End(run_id, status, duration, ts))

    # ------------------------------------------------------------------ worker
    def _submit(self, item: Job | End) -> None:
        if isinstance(item, Job):
            self.writer.call(self._complete, item, key="pysetl-metrics")
        else:
            self.writer.call(self._close_run, item, key="pysetl-metrics")

    def _failed(self, message: str, exc: Exception) -> None:
        with self._lock:
            self.errors += 1
        _LOGGER.warning("%s: %s: %s", message, type(exc).__name__, exc, exc_info=exc)

    def _complete(self, job: Job) -> None:
        metrics = job.metrics
        changes: dict[str, Any] = {}
        spark_context = self._spark_context()
        if spark_context is not None:
            group = job_group(
                metrics.run_id, metrics.pipeline, metrics.factory, metrics.attempt
            )[0]
            with self._lock:
                seen = self._attributed.setdefault(metrics.run_id, {})
                skip = seen.setdefault(metrics.factory, set())
            try:
                status = self._status_of(spark_context)
                run_id = metrics.run_id
                if isinstance(status, SparkStatus) and status.listens_to(run_id):
                    # summed by pysetl's listener: one call
                    changes["spark"], ids = status.take(group, self.spark_wait)
                else:
                    changes["spark"], ids = read_spark_figures(
                        spark_context,
                        group,
                        skip=skip,
                        wait_seconds=self.spark_wait,
                        max_jobs=self.max_jobs,
                        status=status,
                        first_job=status.first_job(run_id)
                        if isinstance(status, SparkStatus)
                        else None,
                    )
                skip.update(ids)
            except Exception as exc:  # noqa: BLE001 - Spark gone or unreachable
                self._failed(
                    f"pysetl metrics: no Spark figures for {metrics.factory}", exc
                )
        if job.output is not None:
            try:
                changes["rows"] = int(job.output.count())
            except Exception as exc:  # noqa: BLE001 - the output may not be countable
                self._failed(f"pysetl metrics: could not count {metrics.factory}", exc)
        if job.profiler is not None:
            changes["profile"] = profile_lines(job.profiler, self.profile_lines)
        if self.keep_runs and any(kpi.labels for kpi in metrics.kpis):
            # Users' labels may carry secrets: mask them in the summary
            # (the history's rows are masked by ``AddMetric``).
            changes["kpis"] = tuple(
                replace(kpi, labels=tuple(redact_labels(dict(kpi.labels)).items()))
                if kpi.labels
                else kpi
                for kpi in metrics.kpis
            )
        if changes:
            metrics = replace(metrics, **changes)
        with self._lock:
            run = self._run(metrics.run_id, metrics.pipeline)
            if self.keep_runs:
                run.factories.append(metrics)
        self._write(metrics.run_id, samples(metrics))

    def _status_of(self, spark_context: Any) -> SparkStatus | ConnectStatus:
        """The status reader of a SparkContext (shared) or a Connect session."""
        status = self._status
        if status is None or status.spark_context is not spark_context:
            status = self._status = (
                ConnectStatus(spark_context)
                if is_connect(spark_context)
                else spark_status(spark_context)
            )
        return status

    def _spark_context(self) -> Any:
        if not self.spark:
            return None
        if self.spark_context is not None:
            return self.spark_context
        return active_spark_context() or active_connect_session()

    def _close_run(self, end: End) -> None:
        with self._lock:
            run = self._runs.get(end.run_id)
            if run is not None:
                run.status, run.duration = end.status, end.duration
                if not self.keep_runs:
                    del self._runs[end.run_id]
            self._attributed.pop(end.run_id, None)
        if run is not None:
            labels = {"pipeline": run.pipeline, "status": end.status}
            sample = ("pysetl_run_duration_seconds", end.duration, labels, None)
            self._write(end.run_id, [(*sample, end.timestamp)])

    def _write(self, run_id: str, rows: list[Sample]) -> None:
        history = self.history
        if history is None:
            return
        # AddMetric masks secrets in labels (the one redaction point).
        self.writer.put_many(
            history,
            [
                AddMetric(run_id, name, float(value), ts, factory, labels)
                for name, value, labels, factory, ts in rows
            ],
        )

    # ------------------------------------------------------------------ reading
    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every factory attempt seen so far is complete.

        Args:
            timeout: Seconds to wait; ``None`` uses ``flush_timeout``.

        Returns:
            Whether the worker caught up in time.
        """
        return self.writer.drain(self.flush_timeout if timeout is None else timeout)

    @property
    def run_ids(self) -> list[str]:
        """The runs whose summaries are kept, oldest first."""
        with self._lock:
            return list(self._runs)

    def summary(self, run_id: str, timeout: float | None = None) -> RunSummary:
        """The summary of run ``run_id``, once its factories are complete.

        Args:
            run_id: The run.
            timeout: Seconds to wait for the worker; ``None`` uses ``flush_timeout``.

        Raises:
            KeyError: The collector saw no such run (or has forgotten it).
        """
        self.flush(timeout)
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                msg = (
                    f"No metrics for run {run_id!r}: the collector has seen "
                    f"{len(self._runs)} run(s); was it registered on that pipeline?"
                )
                raise KeyError(msg)
            return RunSummary(
                run_id=run_id,
                pipeline=run.pipeline,
                status=run.status,
                duration_seconds=run.duration,
                factories=tuple(run.factories),
                top=self.top,
            )

    def close(self) -> None:
        """Complete what is queued (within ``flush_timeout``); idempotent."""
        self.flush()
