"""``BaseRunHistory``: the record and query API every run history store offers.

How to add a store: subclass ``BaseRunHistory`` and implement the ``_``
primitives it inherits from ``StorePrimitives`` (``_primitives``): ``_apply``
writes one batch of operations atomically, the ``_list_*``/``_search_logs``
methods answer one page of already validated arguments. Set
``foreign_errors`` to your backend's exception types: the public methods
wrap them once into ``RunHistoryError``. Then add the store to the
``history`` fixture of ``tests/monitoring/history/conftest.py`` so the
contract suite runs over it.

The class is built in three layers, one module each: ``StorePrimitives``
(what a store implements), ``AcrossRunsQueries`` (``_across_runs``: the
queries over many runs) and ``BaseRunHistory`` here (writes, the reads of
one run, maintenance).

Added in 0.2. Changed in 0.7: split into those modules.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, final

from pysetl.errors import RunHistoryError
from pysetl.monitoring.history._across_runs import AcrossRunsQueries
from pysetl.monitoring.history._checks import (
    MAX_LIMIT,
    check_cursor,
    check_level,
    check_limit,
    check_status,
    pid_alive,
    this_host,
)
from pysetl.monitoring.history.ops import (
    AddLog,
    AddMetric,
    FinishRun,
    Heartbeat,
    MarkCrashed,
    Op,
    StartRun,
)
from pysetl.monitoring.history.records import RunStatus
from pysetl.utils.paging import DEFAULT_LIMIT

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from types import TracebackType

    from typing_extensions import Self

    from pysetl.monitoring.history.records import (
        EventRecord,
        FactoryAttemptRecord,
        LogRecord,
        MetricRecord,
        Page,
        RunRecord,
        StageRecord,
    )

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "RUN_START_EVENT",
    "STALE_AFTER",
    "BaseRunHistory",
]

STALE_AFTER = 60.0
"""Seconds without a heartbeat after which a running run counts as crashed."""
RUN_START_EVENT = "before_pipeline_run"
"""The event of a run's start; its data holds ``factories`` (how many the
pipeline has) and ``graph`` (``{"nodes": [...], "edges": [...]}``) when the
recorder knew the pipeline."""


class BaseRunHistory(AcrossRunsQueries):
    """A store of pipeline runs, their stages, factory attempts, events, metrics, logs.

    Every query returns one ``Page`` of at most ``limit`` rows (at most
    ``MAX_LIMIT``); pass ``page.next_cursor`` back as ``cursor=`` for the next.

    Attributes:
        url: Where the store lives, with any password redacted.
    """

    # ---------------------------------------------------------------- writes
    writer_key = "pysetl-history"
    """The name a ``BackgroundWriter`` counts and logs this store's failures under."""

    @final
    def write_batch(self, ops: Sequence[Op], /) -> None:
        """Write a batch handed over by the observers' writer.

        Unlike ``apply``, a batch the store rejects for some of its values is
        not lost whole: a SQL store writes what it can, with odd text made
        storable, and drops and counts only the rows that still fail (see
        ``_salvage``). A store that cannot be reached still raises, for the
        writer to retry the batch.

        Changed in 0.5: a rejected value costs its own row only.
        """
        batch = tuple(ops)
        if batch:
            self._call("write to", self._write_batch, batch)

    @final
    def apply(self, ops: Iterable[Op]) -> None:
        """Write a batch of operations atomically (all or nothing).

        Raises:
            RunHistoryError: The store cannot be written.
        """
        batch = tuple(ops)
        if batch:
            self._call("write to", self._apply, batch)

    def start_run(
        self,
        run_id: str,
        pipeline: str,
        *,
        started_at: float | None = None,
        pid: int | None = None,
        host: str | None = None,
        config_version: str | None = None,
        resumed_from: str | None = None,
    ) -> None:
        """Record that a run started (``pid`` and ``host`` default to this process).

        ``host`` defaults to ``PYSETL_HOST``, else the machine's name.

        Changed in 0.6: ``resumed_from``, the run this one resumes.
        """
        now = time.time() if started_at is None else started_at
        self.apply(
            [
                StartRun(
                    run_id,
                    pipeline,
                    now,
                    os.getpid() if pid is None else pid,
                    this_host() if host is None else host,
                    config_version,
                    resumed_from,
                )
            ]
        )

    def finish_run(
        self,
        run_id: str,
        status: str,
        *,
        finished_at: float | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        """Record that a run ended with ``status``."""
        check_status(status)
        now = time.time() if finished_at is None else finished_at
        self.apply([FinishRun(run_id, RunStatus(status), now, error)])

    def heartbeat(self, run_id: str, *, at: float | None = None) -> None:
        """Record that the process of a running run is alive."""
        self.apply([Heartbeat(run_id, time.time() if at is None else at)])

    def mark_crashed(
        self, run_id: str, *, at: float | None = None, reason: str = "process died"
    ) -> None:
        """Mark a running run, its running stages and attempts, as crashed.

        They end at their last sign of life: the later of ``at`` (default:
        now) and the last thing the store recorded for the run (its
        heartbeat, events, metrics, log lines, stage and attempt times), so
        a crashed run's duration is how long it was seen alive.

        Changed in 0.4: the end is never before the run's last record; the
        crashed stages and attempts get a duration.
        """
        self.apply([MarkCrashed(run_id, time.time() if at is None else at, reason)])

    def record_metric(
        self,
        run_id: str,
        name: str,
        value: float,
        *,
        factory: str | None = None,
        labels: dict[str, str] | None = None,
        ts: float | None = None,
    ) -> None:
        """Record one measured value of a run."""
        now = time.time() if ts is None else ts
        self.apply([AddMetric(run_id, name, float(value), now, factory, labels or {})])

    def add_logs(self, logs: Iterable[AddLog]) -> None:
        """Record log lines."""
        self.apply(logs)

    # ----------------------------------------------------------------- reads
    @final
    def find_run(self, run_id: str) -> RunRecord | None:
        """The run ``run_id``, or ``None`` when the store has no such run."""
        return self._call("read from", self._get_run, run_id)

    @final
    def get_run(self, run_id: str) -> RunRecord:
        """The run ``run_id``.

        Raises:
            RunHistoryError: No such run.
        """
        run = self.find_run(run_id)
        if run is None:
            msg = f"No run {run_id!r} in the run history {self.url!r}"
            raise RunHistoryError(msg, hint="list the runs with 'pysetl runs list'")
        return run

    @final
    def list_runs(
        self,
        *,
        pipeline: str | None = None,
        status: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
        host: str | None = None,
    ) -> Page[RunRecord]:
        """Runs, newest first, optionally of one pipeline, status and host.

        Args:
            pipeline: Only runs of this pipeline.
            status: Only runs with this status.
            since: Only runs started at or after this time.
            until: Only runs started before this time.
            limit: Page size.
            cursor: ``next_cursor`` of the previous page.
            host: Only runs recorded under this host name.

        Changed in 0.6: ``host``.
        """
        if status is not None:
            check_status(status)
        # Passed only when given: a store written before 0.6 takes no host.
        by_host = {} if host is None else {"host": host}
        return self._call(
            "read from",
            self._list_runs,
            pipeline=pipeline,
            status=status,
            since=since,
            until=until,
            limit=check_limit(limit),
            cursor=cursor,
            **by_host,
        )

    @final
    def list_stage_runs(
        self, run_id: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[StageRecord]:
        """The stages of a run, in order."""
        return self._call(
            "read from",
            self._list_stage_runs,
            run_id,
            check_limit(limit),
            check_cursor(cursor),
        )

    @final
    def list_factory_attempts(
        self,
        run_id: str,
        *,
        factory: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[FactoryAttemptRecord]:
        """The factory attempts of a run, in the order they started."""
        return self._call(
            "read from",
            self._list_factory_attempts,
            run_id,
            factory,
            check_limit(limit),
            check_cursor(cursor),
        )

    @final
    def list_events(
        self,
        run_id: str,
        *,
        name: str | None = None,
        factory: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[EventRecord]:
        """The lifecycle events of a run, in the order they happened."""
        return self._call(
            "read from",
            self._list_events,
            run_id,
            name,
            factory,
            check_limit(limit),
            check_cursor(cursor),
        )

    @final
    def list_metrics(
        self,
        run_id: str,
        *,
        name: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[MetricRecord]:
        """The metrics of a run, in the order they were recorded."""
        return self._call(
            "read from",
            self._list_metrics,
            run_id,
            name,
            check_limit(limit),
            check_cursor(cursor),
        )

    @final
    def search_logs(
        self,
        run_id: str | None = None,
        *,
        factory: str | None = None,
        level: str | int | None = None,
        text: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[LogRecord]:
        """Log lines, oldest first.

        Args:
            run_id: Only lines of this run.
            factory: Only lines of this factory.
            level: Only lines of this level or above (name or number).
            text: Only lines whose message contains this text (any case).
            limit: Page size.
            cursor: ``next_cursor`` of the previous page (also: the id of
                the last line seen, to follow a log).
        """
        number = None
        if level is not None:
            number = check_level(level)
        return self._call(
            "read from",
            self._search_logs,
            run_id=run_id,
            factory=factory,
            level=number,
            text=text or None,
            limit=check_limit(limit),
            after=check_cursor(cursor),
        )

    # ------------------------------------------------------------ maintenance
    @final
    def prune(self, older_than: timedelta, *, now: float | None = None) -> int:
        """Delete the finished runs started before ``now - older_than``.

        Their stages, attempts, events, metrics and logs go with them, as do
        log lines of no run older than the cut-off. Running runs are kept.

        Returns:
            How many runs were deleted.
        """
        if older_than < timedelta(0):
            msg = f"Cannot prune runs older than {older_than!r}: it is negative"
            raise RunHistoryError(msg, hint="give a positive age such as 30d")
        cutoff = (time.time() if now is None else now) - older_than.total_seconds()
        return self._call("prune", self._prune, cutoff)

    @final
    def reconcile_crashed(
        self,
        *,
        stale_after: float = STALE_AFTER,
        now: float | None = None,
        host: str | None = None,
    ) -> list[str]:
        """Mark as crashed the running runs whose process died; return their ids.

        A run is crashed when its last heartbeat (or start) is older than
        ``stale_after`` seconds, whatever host it ran on, or, for a run of
        this host (``host``, default: ``PYSETL_HOST``, else the machine's
        name), when its process is gone: a process id is only checked on the
        host that recorded it. It ends at its last sign of life (see
        ``mark_crashed``), not at its start: a run killed 2 s in, before
        its first heartbeat, lasted 2 s.

        Changed in 0.6: this host is ``PYSETL_HOST`` when set.
        """
        now = time.time() if now is None else now
        host = this_host() if host is None else host
        crashed: list[str] = []
        cursor: str | None = None
        while True:
            page = self.list_runs(
                status=RunStatus.RUNNING, limit=MAX_LIMIT, cursor=cursor
            )
            ops: list[Op] = []
            for run in page.items:
                seen = run.heartbeat_at or run.started_at
                if now - seen > stale_after:
                    reason = f"no heartbeat for {now - seen:.0f} s"
                elif (
                    run.host == host and run.pid is not None and not pid_alive(run.pid)
                ):
                    reason = f"process {run.pid} on {host} is gone"
                else:
                    continue
                ops.append(MarkCrashed(run.run_id, seen, reason))
                crashed.append(run.run_id)
            self.apply(ops)
            if page.next_cursor is None:
                return crashed
            cursor = page.next_cursor

    @property
    @final
    def schema_version(self) -> int:
        """The version of the store's schema."""
        return self._call("read from", self._schema_version)

    def close(self) -> None:
        """Release the store's resources (it reopens on next use)."""

    def close_soon(self) -> None:
        """Release the store's resources, maybe finishing on another thread.

        ``Session.close()`` calls it for a store it opened. The store is
        closed for its callers when this returns (it reopens on next use);
        a store whose connections take long to close (SQLite checkpoints its
        write-ahead log then) may close them in the background. The default
        is ``close()``.

        Added in 0.5.
        """
        self.close()

    def __enter__(self) -> Self:
        """Use the store as a context manager that closes it."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""
        self.close()

    def __repr__(self) -> str:
        """The class and the redacted URL."""
        return f"{type(self).__name__}({self.url!r})"
