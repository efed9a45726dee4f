"""``HistoryRecorder``: the observer that writes lifecycle events to a run history.

Mechanism (why it costs a run almost nothing and survives a crash):

* each event becomes a few write operations put on an in-memory queue; a
  writer thread ("pysetl-history") applies them in batches of up to
  ``batch_size`` operations or every ``flush_interval`` seconds, each batch
  in one transaction, so a killed process leaves the store consistent and
  loses at most the last ``flush_interval`` seconds of events;
* while a run is running, a heartbeat thread stamps ``heartbeat_at`` every
  ``heartbeat_interval`` seconds; ``BaseRunHistory.reconcile_crashed()``
  later marks a run whose heartbeat stopped (or whose process is gone) as
  crashed;
* at the end of a run (succeeded or failed) the recorder waits for the
  writer, so the history is complete when ``Pipeline.run()`` returns; it
  also flushes at interpreter exit;
* a failing store never fails the run: a batch is retried, then dropped and
  counted in ``failed_batches`` (and logged).

Usage::

    recorder = HistoryRecorder(open_history())
    Pipeline(hooks=HookManager(plugins=[recorder])).add_stage(...).run()

Added in 0.2.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from pysetl.monitoring.history._base import RUN_START_EVENT
from pysetl.monitoring.history._records import (
    AddEvent,
    AddMetric,
    FinishAttempt,
    FinishRun,
    FinishStage,
    Heartbeat,
    StartAttempt,
    StartRun,
    StartStage,
    error_to_dict,
)
from pysetl.workflow.hooks import hook_impl

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from pysetl.monitoring.history._base import BaseRunHistory
    from pysetl.monitoring.history._records import Op
    from pysetl.workflow.pipeline import Pipeline

__all__ = ["HistoryRecorder", "pipeline_graph"]

_LOGGER = logging.getLogger(__name__)
_FLUSH = object()  # wakes the writer to write what it holds now
_STOP = object()


def pipeline_graph(pipeline: Pipeline) -> dict[str, Any] | None:
    """The graph of the run that ``pipeline`` is starting, as JSON-ready data.

    Nodes are the factories by their run names (``Fan``, ``Fan#2``...) with
    their stage; edges go from producer to consumer, named by the consumer's
    delivery attribute. It is read from the resolution plan the run made
    (no second resolution), so it costs one pass over the factories; an
    input from outside the pipeline is not drawn. ``None`` when the pipeline
    holds no plan.

    Added in 0.3.
    """
    inspector = getattr(pipeline, "inspector", None)
    # The plan the run resolved; the inspector keeps it without a public name.
    plan = getattr(inspector, "_plan", None)
    if plan is None:
        return None
    nodes = [
        {"id": source.name, "stage_id": source.stage}
        for sources in plan.stage_sources
        for source in sources
    ]
    edges = [
        {"source": wire.source.name, "target": consumer.name, "delivery": wire.name}
        for stage_wires, sources in zip(
            plan.stage_wires, plan.stage_sources, strict=False
        )
        for wires, consumer in zip(stage_wires, sources, strict=False)
        for wire in wires
        if not wire.source.external
    ]
    return {"nodes": nodes, "edges": edges}


def _summary(error: BaseException) -> dict[str, Any]:
    return {"error_type": type(error).__name__, "message": str(error).split("\n")[0]}


class HistoryRecorder:
    """Records every run it observes in ``history``, off the run's thread.

    Args:
        history: The store to write to.
        batch_size: At most this many operations per transaction.
        flush_interval: Seconds the writer waits to fill a batch.
        heartbeat_interval: Seconds between heartbeats of a running run.
        config_version: The hash of the resolved config, stored with each run.
        retries: How many times a failed batch is retried before it is dropped.
        flush_timeout: Seconds the end of a run waits for the writer.

        max_pending: How many operations may wait before new ones are dropped.

    Attributes:
        failed_batches: Batches dropped because the store kept failing.
        dropped: Operations dropped because ``max_pending`` were waiting.
        written: Operations written so far.
    """

    def __init__(
        self,
        history: BaseRunHistory,
        *,
        batch_size: int = 500,
        flush_interval: float = 0.2,
        heartbeat_interval: float = 10.0,
        config_version: str | None = None,
        retries: int = 3,
        flush_timeout: float = 10.0,
        max_pending: int = 100_000,
    ) -> None:
        """Create the recorder; its threads start with the first event."""
        self.history = history
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.heartbeat_interval = heartbeat_interval
        self.config_version = config_version
        self.retries = retries
        self.flush_timeout = flush_timeout
        self.max_pending = max_pending
        self.failed_batches = 0
        self.dropped = 0
        self.written = 0
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._running: set[str] = set()
        self._stop = threading.Event()
        self._writer: threading.Thread | None = None
        self._heart: threading.Thread | None = None
        self._host = socket.gethostname()

    # ------------------------------------------------------------ the queue
    def submit(self, *ops: Op) -> None:
        """Queue write operations for the writer thread.

        When ``max_pending`` operations already wait (the store is down or
        too slow), the new ones are dropped and counted in ``dropped``.
        """
        with self._lock:
            if self._pending + len(ops) > self.max_pending:
                self.dropped += len(ops)
                if self.dropped == len(ops):  # say it once, not per event
                    _LOGGER.warning("pysetl run history is behind: dropping operations")
                return
            self._pending += len(ops)
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_loop, name="pysetl-history", daemon=True
                )
                self._writer.start()
                atexit.register(self.close)
        for op in ops:
            self._queue.put(op)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued operation is written; ``False`` on timeout."""
        self._queue.put(_FLUSH)
        limit = self.flush_timeout if timeout is None else timeout
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=limit)

    def _write_loop(self) -> None:
        stop = False
        while not stop:
            batch: list[Op] = []
            item = self._queue.get()
            deadline = time.monotonic() + self.flush_interval
            while True:
                if item is _STOP:
                    stop = True
                    break
                if item is not _FLUSH:
                    batch.append(item)  # type: ignore[arg-type]
                if item is _FLUSH or len(batch) >= self.batch_size:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[Op]) -> None:
        if batch:
            for attempt in range(self.retries + 1):
                try:
                    self.history.apply(batch)
                except Exception:  # a store must never fail the run
                    if attempt == self.retries:
                        self.failed_batches += 1
                        _LOGGER.exception(
                            "pysetl run history dropped %d operations", len(batch)
                        )
                    else:
                        time.sleep(0.05 * 2**attempt)
                    continue
                self.written += len(batch)
                break
        with self._idle:
            self._pending -= len(batch)
            if self._pending == 0:
                self._idle.notify_all()

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self.heartbeat_interval):
            with self._lock:
                running = sorted(self._running)
            now = time.time()
            for run_id in running:
                self.submit(Heartbeat(run_id, now))

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued and stop the threads (the recorder can restart)."""
        atexit.unregister(self.close)
        self.flush(timeout)
        self._stop.set()
        with self._lock:
            writer, self._writer = self._writer, None
            heart, self._heart = self._heart, None
        if writer is not None:
            self._queue.put(_STOP)
            writer.join(self.flush_timeout if timeout is None else timeout)
        if heart is not None:
            heart.join(self.flush_timeout if timeout is None else timeout)
        self._stop = threading.Event()

    def __enter__(self) -> Self:
        """Use the recorder as a context manager that closes it."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the recorder."""
        self.close()

    # ------------------------------------------------------------------ runs
    def _start_run(self, run_id: str, pipeline_name: str, timestamp: float) -> None:
        with self._lock:
            self._running.add(run_id)
            if self._heart is None:
                self._heart = threading.Thread(
                    target=self._heartbeat_loop, name="pysetl-heartbeat", daemon=True
                )
                self._heart.start()
        self.submit(
            StartRun(
                run_id,
                pipeline_name,
                timestamp,
                os.getpid(),
                self._host,
                self.config_version,
            )
        )

    def _end_run(self, *ops: Op, run_id: str) -> None:
        self.submit(*ops)
        with self._lock:
            self._running.discard(run_id)
        self.flush()

    @hook_impl
    def before_pipeline_run(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        timestamp: float,
        pipeline: Pipeline | None = None,
    ) -> None:
        """Record the run as running, with its graph and factory count."""
        self._start_run(run_id, pipeline_name, timestamp)
        graph = None
        if pipeline is not None:
            try:
                graph = pipeline_graph(pipeline)
            except Exception:  # the graph is a nicety: never fail the run for it
                _LOGGER.exception("pysetl run history cannot record the graph")
        data = (
            {} if graph is None else {"factories": len(graph["nodes"]), "graph": graph}
        )
        self.submit(AddEvent(run_id, timestamp, RUN_START_EVENT, data=data))

    @hook_impl
    def after_pipeline_run(
        self, *, run_id: str, timestamp: float, duration: float
    ) -> None:
        """Record the run as succeeded, and wait for the writer."""
        self._end_run(
            AddEvent(
                run_id, timestamp, "after_pipeline_run", data={"duration": duration}
            ),
            FinishRun(run_id, "succeeded", timestamp),
            run_id=run_id,
        )

    @hook_impl
    def on_pipeline_run_failed(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        timestamp: float,
        duration: float,
        error: Exception,
    ) -> None:
        """Record the run as failed with the error's whole context."""
        with self._lock:
            started = run_id in self._running
        if not started:  # the pre-flight check failed: no before_pipeline_run
            self._start_run(run_id, pipeline_name, timestamp - duration)
        data = {"duration": duration, **_summary(error)}
        self._end_run(
            AddEvent(run_id, timestamp, "on_pipeline_run_failed", data=data),
            FinishRun(run_id, "failed", timestamp, error_to_dict(error)),
            run_id=run_id,
        )

    # ---------------------------------------------------------------- stages
    @hook_impl
    def before_stage_run(
        self, *, run_id: str, timestamp: float, stage_id: int, parallel: bool
    ) -> None:
        """Record the stage as running."""
        self.submit(
            StartStage(run_id, stage_id, timestamp),
            AddEvent(
                run_id,
                timestamp,
                "before_stage_run",
                stage_id,
                data={"parallel": parallel},
            ),
        )

    @hook_impl
    def after_stage_run(
        self, *, run_id: str, timestamp: float, stage_id: int, duration: float
    ) -> None:
        """Record the stage as succeeded."""
        self.submit(
            FinishStage(run_id, stage_id, "succeeded", timestamp, duration),
            AddEvent(
                run_id,
                timestamp,
                "after_stage_run",
                stage_id,
                data={"duration": duration},
            ),
        )

    @hook_impl
    def on_stage_run_failed(
        self,
        *,
        run_id: str,
        timestamp: float,
        stage_id: int,
        duration: float,
        error: Exception,
    ) -> None:
        """Record the stage as failed."""
        self.submit(
            FinishStage(
                run_id, stage_id, "failed", timestamp, duration, error_to_dict(error)
            ),
            AddEvent(
                run_id,
                timestamp,
                "on_stage_run_failed",
                stage_id,
                data={"duration": duration, **_summary(error)},
            ),
        )

    # ------------------------------------------------------------- factories
    @hook_impl
    def before_factory_run(
        self,
        *,
        run_id: str,
        timestamp: float,
        stage_id: int,
        factory_name: str,
        attempt: int,
    ) -> None:
        """Record the attempt as running."""
        self.submit(
            StartAttempt(run_id, stage_id, factory_name, attempt, timestamp),
            AddEvent(
                run_id,
                timestamp,
                "before_factory_run",
                stage_id,
                factory_name,
                attempt,
            ),
        )

    @hook_impl
    def after_factory_run(
        self,
        *,
        run_id: str,
        timestamp: float,
        stage_id: int,
        factory_name: str,
        attempt: int,
        duration: float,
        phases: dict[str, float],
    ) -> None:
        """Record the attempt as succeeded, with its duration per phase."""
        labels = {"stage": str(stage_id)}
        self.submit(
            FinishAttempt(
                run_id,
                stage_id,
                factory_name,
                attempt,
                "succeeded",
                timestamp,
                duration,
                dict(phases),
            ),
            AddEvent(
                run_id,
                timestamp,
                "after_factory_run",
                stage_id,
                factory_name,
                attempt,
                {"duration": duration, "phases": dict(phases)},
            ),
            AddMetric(
                run_id,
                "factory_duration_seconds",
                duration,
                timestamp,
                factory_name,
                labels,
            ),
        )

    @hook_impl
    def on_factory_run_failed(
        self,
        *,
        run_id: str,
        timestamp: float,
        stage_id: int,
        factory_name: str,
        attempt: int,
        duration: float,
        phases: dict[str, float],
        phase: str,
        error: Exception,
    ) -> None:
        """Record the attempt as failed with the error's whole context."""
        self.submit(
            FinishAttempt(
                run_id,
                stage_id,
                factory_name,
                attempt,
                "failed",
                timestamp,
                duration,
                dict(phases),
                phase,
                error_to_dict(error),
            ),
            AddEvent(
                run_id,
                timestamp,
                "on_factory_run_failed",
                stage_id,
                factory_name,
                attempt,
                {"duration": duration, "phase": phase, **_summary(error)},
            ),
        )

    # ------------------------------------------------------------------ logs
    def current_run(self) -> str | None:
        """The id of the one run this recorder sees running, else ``None``."""
        with self._lock:
            if len(self._running) == 1:
                return next(iter(self._running))
        return None
