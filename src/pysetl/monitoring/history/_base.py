"""``BaseRunHistory``: the record and query API every run history store offers.

How to add a store: subclass ``BaseRunHistory`` and implement the ``_``
primitives: ``_apply`` writes one batch of operations atomically, the
``_list_*``/``_search_logs`` methods answer one page of already validated
arguments. Set ``foreign_errors`` to your backend's exception types: the
public methods wrap them once into ``RunHistoryError``. Then add the store to
the ``history`` fixture of ``tests/monitoring/history/conftest.py`` so the
contract suite runs over it.

Added in 0.2.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, final

from pysetl.errors import PySetlError, RunHistoryError
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
from pysetl.monitoring.history.records import FactoryCounts, RunStatus
from pysetl.utils.paging import DEFAULT_LIMIT

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from types import TracebackType

    from typing_extensions import Self

    from pysetl.monitoring.history.records import (
        AttemptSummary,
        EventRecord,
        FactoryAttemptRecord,
        FailureRecord,
        LogRecord,
        MetricRecord,
        MetricTotal,
        Page,
        PipelineSummary,
        RunRecord,
        StageRecord,
    )

_R = TypeVar("_R")

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "RUN_START_EVENT",
    "STALE_AFTER",
    "BaseRunHistory",
    "FailureKey",
    "failure_cursor",
    "failure_key",
]

STALE_AFTER = 60.0
"""Seconds without a heartbeat after which a running run counts as crashed."""
RUN_START_EVENT = "before_pipeline_run"
"""The event of a run's start; its data holds ``factories`` (how many the
pipeline has) and ``graph`` (``{"nodes": [...], "edges": [...]}``) when the
recorder knew the pipeline."""


class BaseRunHistory(ABC):
    """A store of pipeline runs, their stages, factory attempts, events, metrics, logs.

    Every query returns one ``Page`` of at most ``limit`` rows (at most
    ``MAX_LIMIT``); pass ``page.next_cursor`` back as ``cursor=`` for the next.

    Attributes:
        url: Where the store lives, with any password redacted.
    """

    foreign_errors: ClassVar[tuple[type[Exception], ...]] = ()
    url: str = ""

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

    # ------------------------------------------------ reads across runs (0.3)
    @final
    def list_pipelines(self, *, limit: int = MAX_LIMIT) -> list[PipelineSummary]:
        """The pipelines of the history by name, each with its run count and last run.

        Added in 0.3.
        """
        return self._call("read from", self._list_pipelines, check_limit(limit))

    @final
    def attempt_summaries(self, run_ids: Sequence[str]) -> list[AttemptSummary]:
        """Every factory attempt of the runs ``run_ids``, in the order they started.

        Args:
            run_ids: At most ``MAX_LIMIT`` run ids (one page of runs).

        Added in 0.3.
        """
        ids = _check_run_ids(run_ids)
        return self._call("read from", self._attempt_summaries, ids) if ids else []

    @final
    def metric_totals(
        self,
        run_ids: Sequence[str],
        *,
        names: Sequence[str] | None = None,
        factory: str | None = None,
    ) -> list[MetricTotal]:
        """Each metric of the runs ``run_ids`` summed over the run (and its peak).

        Args:
            run_ids: At most ``MAX_LIMIT`` run ids.
            names: Only these metrics (default: every metric).
            factory: Only the values of this factory (default: all).

        Added in 0.3.
        """
        ids = _check_run_ids(run_ids)
        if not ids or (names is not None and not names):
            return []
        wanted = None if names is None else tuple(dict.fromkeys(names))
        return self._call("read from", self._metric_totals, ids, wanted, factory)

    @final
    def latest_events(
        self, run_ids: Sequence[str], name: str
    ) -> dict[str, EventRecord]:
        """The last event called ``name`` of each of the runs ``run_ids`` that has one.

        Added in 0.3.
        """
        ids = _check_run_ids(run_ids)
        return self._call("read from", self._latest_events, ids, name) if ids else {}

    @final
    def latest_event(self, run_id: str, name: str) -> EventRecord | None:
        """The last event called ``name`` of the run ``run_id``, if any.

        Added in 0.3.
        """
        return self.latest_events([run_id], name).get(run_id)

    @final
    def factory_counts(self, run_ids: Sequence[str]) -> dict[str, FactoryCounts]:
        """How many factories each run has, and how many succeeded, failed, run.

        A factory counts once, with the status of its latest attempt; the
        total is the pipeline's factory count recorded at run start (the
        ``factories`` of the ``RUN_START_EVENT``) when it is known.

        Added in 0.3. Changed in 0.6: counted by the store (a SQL store
        aggregates in the database: a page of 500 runs reads their counts,
        not their 2,500 attempts).
        """
        ids = _check_run_ids(run_ids)
        found = self._call("read from", self._factory_tallies, ids) if ids else {}
        tallies = {rid: found.get(rid, {}) for rid in run_ids}
        totals = self._call("read from", self._factory_totals, ids) if ids else {}
        return {
            rid: FactoryCounts(
                total=max(totals.get(rid, 0), sum(tally.values())),
                succeeded=tally.get(RunStatus.SUCCEEDED, 0),
                failed=tally.get(RunStatus.FAILED, 0) + tally.get(RunStatus.CRASHED, 0),
                running=tally.get(RunStatus.RUNNING, 0),
            )
            for rid, tally in tallies.items()
        }

    @final
    def list_failures(
        self,
        *,
        pipeline: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[FailureRecord]:
        """Failures, latest run start first: what error analytics groups.

        A failure is a failed factory attempt (retried or not), or a failed
        or crashed run that has no failed attempt (a pre-flight error, a
        process that died). Runs started at the same time come by run id,
        descending; within a run, attempts come newest first.

        Args:
            pipeline: Only failures of runs of this pipeline.
            since: Only failures of runs started at or after this time.
            until: Only failures of runs started before this time.
            limit: Page size.
            cursor: ``next_cursor`` of the previous page.

        Added in 0.5.
        """
        return self._call(
            "read from",
            self._list_failures,
            pipeline=pipeline,
            since=since,
            until=until,
            limit=check_limit(limit),
            after=_check_failure_cursor(cursor),
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

    def close(self) -> None:  # noqa: B027 - a no-op is right for most stores
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

    # ------------------------------------------------------------- primitives
    @abstractmethod
    def _apply(self, ops: Sequence[Op]) -> None:
        """Write ``ops`` in one transaction."""

    def _write_batch(self, ops: Sequence[Op]) -> None:
        """Write a batch of the writer: ``_apply`` unless the store can salvage."""
        self._apply(ops)

    @abstractmethod
    def _get_run(self, run_id: str) -> RunRecord | None:
        """One run or ``None``."""

    @abstractmethod
    def _list_runs(
        self,
        *,
        pipeline: str | None,
        status: str | None,
        since: float | None,
        until: float | None,
        limit: int,
        cursor: str | None,
        host: str | None = None,
    ) -> Page[RunRecord]:
        """Runs by ``run_id`` descending, those below ``cursor`` (of ``host``)."""

    @abstractmethod
    def _list_stage_runs(
        self, run_id: str, limit: int, after: int | None
    ) -> Page[StageRecord]:
        """Stages by ``stage_id``, those above ``after``."""

    @abstractmethod
    def _list_factory_attempts(
        self, run_id: str, factory: str | None, limit: int, after: int | None
    ) -> Page[FactoryAttemptRecord]:
        """Attempts by ``id``, those above ``after``."""

    @abstractmethod
    def _list_events(
        self,
        run_id: str,
        name: str | None,
        factory: str | None,
        limit: int,
        after: int | None,
    ) -> Page[EventRecord]:
        """Events by ``id``, those above ``after``."""

    @abstractmethod
    def _list_metrics(
        self, run_id: str, name: str | None, limit: int, after: int | None
    ) -> Page[MetricRecord]:
        """Metrics by ``id``, those above ``after``."""

    @abstractmethod
    def _search_logs(
        self,
        *,
        run_id: str | None,
        factory: str | None,
        level: int | None,
        text: str | None,
        limit: int,
        after: int | None,
    ) -> Page[LogRecord]:
        """Log lines by ``id``, those above ``after``, of ``level`` and up."""

    @abstractmethod
    def _list_pipelines(self, limit: int) -> list[PipelineSummary]:
        """Pipelines by name with their run count and latest run."""

    @abstractmethod
    def _attempt_summaries(self, run_ids: tuple[str, ...]) -> list[AttemptSummary]:
        """The attempts of ``run_ids`` (not empty) by ``id``."""

    @abstractmethod
    def _metric_totals(
        self,
        run_ids: tuple[str, ...],
        names: tuple[str, ...] | None,
        factory: str | None,
    ) -> list[MetricTotal]:
        """Sum, max and count per run and metric name, by run then name."""

    def _factory_tallies(self, run_ids: tuple[str, ...]) -> dict[str, dict[str, int]]:
        """Per run, how many factories have each status (their latest attempt's).

        The latest attempt of a factory is its highest attempt number (the
        later started of equals). This default reads every attempt; SQL
        stores count in the database.
        """
        latest: dict[tuple[str, str], AttemptSummary] = {}
        for attempt in self._attempt_summaries(run_ids):
            key = (attempt.run_id, attempt.factory)
            known = latest.get(key)
            if known is None or attempt.attempt >= known.attempt:
                latest[key] = attempt
        tallies: dict[str, dict[str, int]] = {}
        for (rid, _), attempt in latest.items():
            tally = tallies.setdefault(rid, {})
            tally[attempt.status] = tally.get(attempt.status, 0) + 1
        return tallies

    @abstractmethod
    def _factory_totals(self, run_ids: tuple[str, ...]) -> dict[str, int]:
        """The ``factories`` count of each run's start event, where recorded."""

    @abstractmethod
    def _latest_events(
        self, run_ids: tuple[str, ...], name: str
    ) -> dict[str, EventRecord]:
        """The event ``name`` with the highest id of each run."""

    @abstractmethod
    def _list_failures(
        self,
        *,
        pipeline: str | None,
        since: float | None,
        until: float | None,
        limit: int,
        after: FailureKey | None,
    ) -> Page[FailureRecord]:
        """Failures by ``failure_key`` descending, those below ``after``.

        The page's cursor is ``failure_cursor`` of its last failure.
        """

    @abstractmethod
    def _prune(self, cutoff: float) -> int:
        """Delete finished runs started before ``cutoff`` and all they own."""

    @abstractmethod
    def _schema_version(self) -> int:
        """The schema version."""

    # ---------------------------------------------------------------- helpers
    def _call(
        self, action: str, function: Callable[..., _R], *args: Any, **kwargs: Any
    ) -> _R:
        """Run ``function`` and wrap the backend's errors once into ours."""
        try:
            return function(*args, **kwargs)
        except PySetlError:
            raise
        except self.foreign_errors as exc:
            raise self._wrap(action, exc) from exc

    def _wrap(self, action: str, exc: Exception) -> RunHistoryError:
        """Our error for a backend error ``exc`` raised while doing ``action``."""
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        msg = (
            f"Cannot {action} the run history {self.url!r}: "
            f"{type(exc).__name__}: {detail}"
        )
        return RunHistoryError(msg, hint=self._hint(exc))

    def _hint(self, exc: Exception) -> str:  # noqa: ARG002 - subclasses use it
        """What the user can do about ``exc``."""
        return (
            "check that the store is reachable and writable, or point "
            "PYSETL_HISTORY_URL (or --history) at another one"
        )


def _check_run_ids(run_ids: Sequence[str]) -> tuple[str, ...]:
    """``run_ids`` without repeats, if there are at most ``MAX_LIMIT``."""
    ids = tuple(dict.fromkeys(run_ids))
    if len(ids) > MAX_LIMIT:
        msg = f"Cannot query {len(ids)!r} runs at once"
        raise RunHistoryError(msg, hint=f"ask for at most {MAX_LIMIT} runs a call")
    return ids


FailureKey = tuple[float, str, int]
"""The order of ``list_failures``: run start time, run id, attempt row id."""


def failure_key(failure: FailureRecord) -> FailureKey:
    """Where ``failure`` sorts in ``list_failures`` (which is descending)."""
    return failure.started_at, failure.run_id, failure.id


def failure_cursor(failure: FailureRecord) -> str:
    """The cursor of the page of failures that ends with ``failure``."""
    return f"{failure.started_at!r}:{failure.run_id}:{failure.id}"


def _check_failure_cursor(cursor: str | None) -> FailureKey | None:
    """The ``failure_key`` of a ``list_failures`` cursor."""
    if cursor is None:
        return None
    at, _, rest = cursor.partition(":")
    run_id, _, number = rest.rpartition(":")
    try:
        started = float(at)
    except ValueError:
        started = None
    if started is not None and run_id and number.isdigit():
        return started, run_id, int(number)
    msg = f"Cursor {cursor!r} is not a cursor of this query"
    raise RunHistoryError(msg, hint="pass the next_cursor of the previous page")
