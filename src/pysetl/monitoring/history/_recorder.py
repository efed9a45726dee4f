"""``HistoryRecorder``: the observer that writes lifecycle events to a run history.

Mechanism (why it costs a run almost nothing and survives a crash):

* each event becomes a few write operations, built where the event is
  emitted (the recorder is delivered inline: an operation is a small record
  built in about a microsecond) and handed to the observers' one writer
  thread (``pysetl.utils.writer``); the writer gives the store all the
  operations that arrived together in one ``apply`` (one transaction), so a
  killed process leaves the store consistent and loses at most the last
  batch;
* a factory attempt is one row (``StartAttempt`` then ``FinishAttempt``,
  one insert when both arrive in one batch); the events table holds the
  run's and stages' lifecycle, not a copy of every attempt (changed in 0.4);
* while a run is running, a heartbeat (a periodic task of the same writer)
  stamps ``heartbeat_at``: 1 s after the start, then 2, 4, 8 s... and every
  ``heartbeat_interval`` seconds once the gap reaches it, so that a run
  killed early, even one that recorded nothing since its start, ends at
  most about half its true duration early (changed in 0.5: the first beat
  came after a whole interval, and such a run was shown crashed after 0 s);
  ``BaseRunHistory.reconcile_crashed()`` later marks a run whose heartbeat
  stopped (or whose process is gone) as crashed;
* at the end of a run (succeeded or failed) the pipeline waits for the
  writer, so the history is complete when ``Pipeline.run()`` returns;
* a failing store never fails the run: the writer retries a batch, then
  drops it, counts it (``failed_batches``) and logs it, at a low rate.

Usage::

    recorder = HistoryRecorder(open_history())
    Pipeline(hooks=HookManager(observers=[recorder])).add_stage(...).run()

Added in 0.2.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pysetl.monitoring.history._base import RUN_START_EVENT
from pysetl.monitoring.history._run_writer import FIRST_HEARTBEAT, RunWriter
from pysetl.monitoring.history.ops import (
    AddEvent,
    FinishAttempt,
    FinishRun,
    FinishStage,
    StartAttempt,
    StartStage,
    error_to_dict,
)
from pysetl.monitoring.history.records import RunStatus
from pysetl.workflow.hooks import hook_impl
from pysetl.workflow.run_graph import RunGraph

if TYPE_CHECKING:
    from pysetl.workflow.pipeline import Pipeline

__all__ = ["FIRST_HEARTBEAT", "HistoryRecorder", "pipeline_graph"]

_LOGGER = logging.getLogger(__name__)


def pipeline_graph(pipeline: Pipeline) -> dict[str, Any] | None:
    """The graph of the run that ``pipeline`` last made, as JSON-ready data.

    ``RunGraph.of(pipeline).to_dict()``: nodes are the factories by their
    run names (``Fan``, ``Fan#2``...) with their stage; edges go from
    producer to consumer, named by the consumer's delivery attribute.
    ``None`` when the pipeline holds no plan (it never ran).

    Added in 0.3. Changed in 0.7: built by ``pysetl.workflow.run_graph``;
    the recorder takes the graph from the ``before_pipeline_run`` event.
    """
    graph = RunGraph.of(pipeline)
    return None if graph is None else graph.to_dict()


def _summary(error: BaseException) -> dict[str, Any]:
    return {"error_type": type(error).__name__, "message": str(error).split("\n")[0]}


class HistoryRecorder(RunWriter):
    """Records every run it observes in ``history``, written off the run's thread.

    Args:
        history: The store to write to.
        heartbeat_interval: Seconds between heartbeats of a running run.
        config_version: The hash of the resolved config, stored with each run.
        flush_timeout: Seconds ``flush()`` and the end of a run wait for the writer.
        writer: The observers' writer thread; default: the process-wide one.

    Attributes:
        failed_batches: Batches dropped because the store kept failing.
        dropped: Operations (and other observers' work) the writer dropped.
        written: Operations written so far (by every observer of the writer).
    """

    writer_key = "pysetl-history"
    pysetl_inline = True  # it only builds records: delivered where events happen

    # ------------------------------------------------------------------ runs
    @hook_impl
    def before_pipeline_run(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        timestamp: float,
        pipeline: Pipeline | None = None,
        graph: RunGraph | None = None,
    ) -> None:
        """Record the run as running, with its graph and factory count.

        The graph is the event's ``graph``; an event without one (emitted
        before 0.7, or by hand) falls back to the plan of ``pipeline``.

        Changed in 0.6: a run that resumes another (``Pipeline.run(resume=)``)
        records it as ``resumed_from``. Changed in 0.7: the graph comes from
        the event.
        """
        resumed = getattr(pipeline, "resumed_from", None)
        self._start_run(
            run_id,
            pipeline_name,
            timestamp,
            resumed if isinstance(resumed, str) else None,
        )
        drawn = None
        try:
            if graph is None and pipeline is not None:
                graph = RunGraph.of(pipeline)
            drawn = None if graph is None else graph.to_dict()
        except Exception:  # the graph is a nicety: never fail the run for it
            _LOGGER.exception("pysetl run history cannot record the graph")
        data = {} if drawn is None else {"factories": len(drawn["nodes"])}
        event = AddEvent(run_id, timestamp, RUN_START_EVENT, data=data)
        if drawn is not None:
            # Names of factories and deliveries, stored as the attempts store
            # them and masked where they are shown (the dashboard, the CLI);
            # masking 10,000 of them here cost about 4 us a factory.
            object.__setattr__(event, "data", {**event.data, "graph": drawn})
        self.submit(event)

    @hook_impl
    def after_pipeline_run(
        self, *, run_id: str, timestamp: float, duration: float
    ) -> None:
        """Record the run as succeeded, and wait for the writer."""
        self._end_run(
            AddEvent(
                run_id, timestamp, "after_pipeline_run", data={"duration": duration}
            ),
            FinishRun(run_id, RunStatus.SUCCEEDED, timestamp),
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
            FinishRun(run_id, RunStatus.FAILED, timestamp, error_to_dict(error)),
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
            FinishStage(run_id, stage_id, RunStatus.SUCCEEDED, timestamp, duration),
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
                run_id,
                stage_id,
                RunStatus.FAILED,
                timestamp,
                duration,
                error_to_dict(error),
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
        self.writer.put(
            self.history,
            StartAttempt(run_id, stage_id, factory_name, attempt, timestamp),
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
        self.writer.put(
            self.history,
            FinishAttempt(
                run_id,
                stage_id,
                factory_name,
                attempt,
                RunStatus.SUCCEEDED,
                timestamp,
                duration,
                dict(phases),
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
        self.writer.put(
            self.history,
            FinishAttempt(
                run_id,
                stage_id,
                factory_name,
                attempt,
                RunStatus.FAILED,
                timestamp,
                duration,
                dict(phases),
                phase,
                error_to_dict(error),
            ),
        )

    @hook_impl
    def on_factory_retried(
        self,
        *,
        run_id: str,
        timestamp: float,
        stage_id: int,
        factory_name: str,
        attempt: int,
        error: Exception,
        delay: float,
        next_attempt: int,
    ) -> None:
        """Record that the failed attempt will be retried, when and why.

        Added in 0.6.
        """
        cause = error.__cause__ or error
        data = {
            "delay": delay,
            "next_attempt": next_attempt,
            **_summary(error),
            "cause_type": type(cause).__name__,
        }
        self.submit(
            AddEvent(
                run_id,
                timestamp,
                "on_factory_retried",
                stage_id,
                factory_name,
                attempt,
                data=data,
            )
        )

    @hook_impl
    def on_factory_skipped(
        self,
        *,
        run_id: str,
        timestamp: float,
        stage_id: int,
        factory_name: str,
        reason: str,
    ) -> None:
        """Record that the factory did not run in this run, and why.

        Added in 0.6.
        """
        self.submit(
            AddEvent(
                run_id,
                timestamp,
                "on_factory_skipped",
                stage_id,
                factory_name,
                data={"reason": reason},
            )
        )
