"""``InMemoryRunHistory``'s queries across runs: pipelines, totals, counts, failures.

The same answers as the SQL stores' (``_sql_across_runs``), computed over
the store's lists under its lock.

Added in 0.3 (in ``_memory``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from pysetl.monitoring.history._base import RUN_START_EVENT
from pysetl.monitoring.history._failures import (
    FailureKey,
    failure_cursor,
    failure_key,
)
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
    RunStatus,
    StageRecord,
)

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Iterable

__all__ = ["MemoryAcrossRuns", "page_of"]

_FAILED = frozenset({RunStatus.FAILED, RunStatus.CRASHED})

T = TypeVar("T")


def page_of(rows: Iterable[T], limit: int, key: Callable[[T], object]) -> Page[T]:
    """The first ``limit`` of ``rows``; the cursor is ``key`` of the last, if more."""
    items: list[T] = []
    for row in rows:
        if len(items) == limit:
            return Page(tuple(items), str(key(items[-1])))
        items.append(row)
    return Page(tuple(items), None)


class MemoryAcrossRuns:
    """The queries over many runs of ``InMemoryRunHistory`` (a mixin of it)."""

    if TYPE_CHECKING:  # what InMemoryRunHistory brings
        _lock: threading.RLock
        _runs: dict[str, RunRecord]
        _stages: dict[tuple[str, int], StageRecord]
        _attempts: dict[tuple[str, int, str, int], FactoryAttemptRecord]
        _events: list[EventRecord]
        _metrics: list[MetricRecord]
        _logs: list[LogRecord]

    def _list_pipelines(self, limit: int) -> list[PipelineSummary]:
        with self._lock:
            runs = list(self._runs.values())
        counts: dict[str, int] = {}
        last: dict[str, RunRecord] = {}
        for run in runs:
            counts[run.pipeline] = counts.get(run.pipeline, 0) + 1
            known = last.get(run.pipeline)
            if known is None or run.run_id > known.run_id:
                last[run.pipeline] = run
        return [
            PipelineSummary(
                name,
                counts[name],
                last[name].run_id,
                last[name].status,
                last[name].started_at,
            )
            for name in sorted(counts)[:limit]
        ]

    def _latest_runs(
        self, pipeline: str, statuses: tuple[str | None, ...]
    ) -> dict[str | None, RunRecord]:
        with self._lock:
            runs = [r for r in self._runs.values() if r.pipeline == pipeline]
        found: dict[str | None, RunRecord] = {}
        for status in statuses:
            fits = [r for r in runs if status is None or r.status == status]
            if fits:
                found[status] = max(fits, key=lambda r: r.run_id)
        return found

    def _attempt_summaries(self, run_ids: tuple[str, ...]) -> list[AttemptSummary]:
        wanted = set(run_ids)
        with self._lock:
            attempts = sorted(self._attempts.values(), key=lambda a: a.id)
        return [
            AttemptSummary(
                a.run_id, a.stage_id, a.factory, a.attempt, a.status, a.duration
            )
            for a in attempts
            if a.run_id in wanted
        ]

    def _metric_totals(
        self,
        run_ids: tuple[str, ...],
        names: tuple[str, ...] | None,
        factory: str | None,
    ) -> list[MetricTotal]:
        wanted = set(run_ids)
        named = None if names is None else set(names)
        with self._lock:
            metrics = list(self._metrics)
        found: dict[tuple[str, str], list[float]] = {}
        for m in metrics:
            if (
                m.run_id in wanted
                and (named is None or m.name in named)
                and (factory is None or m.factory == factory)
            ):
                found.setdefault((m.run_id, m.name), []).append(m.value)
        return [
            MetricTotal(rid, name, sum(values), max(values), len(values))
            for (rid, name), values in sorted(found.items())
        ]

    def _factory_totals(self, run_ids: tuple[str, ...]) -> dict[str, int]:
        found = self._latest_events(run_ids, RUN_START_EVENT)
        return {
            rid: int(e.data["factories"])
            for rid, e in found.items()
            if isinstance(e.data.get("factories"), int)
        }

    def _latest_events(
        self, run_ids: tuple[str, ...], name: str
    ) -> dict[str, EventRecord]:
        wanted = set(run_ids)
        with self._lock:
            events = list(self._events)
        return {e.run_id: e for e in events if e.run_id in wanted and e.name == name}

    def _list_failures(
        self,
        *,
        pipeline: str | None,
        since: float | None,
        until: float | None,
        limit: int,
        after: FailureKey | None,
    ) -> Page[FailureRecord]:
        with self._lock:
            runs = dict(self._runs)
            attempts = list(self._attempts.values())
        found: list[FailureRecord] = []
        failed_runs: set[str] = set()
        for a in attempts:
            run = runs.get(a.run_id)
            if a.status == RunStatus.FAILED and run is not None:
                failed_runs.add(a.run_id)
                ts = a.finished_at or a.started_at or run.started_at
                found.append(
                    _failure(
                        run,
                        factory=a.factory,
                        attempt=a.attempt,
                        row_id=a.id,
                        ts=ts,
                        error=a.error,
                    )
                )
        for run in runs.values():
            if run.status in _FAILED and run.run_id not in failed_runs:
                ts = run.finished_at or run.started_at
                found.append(
                    _failure(
                        run,
                        factory=None,
                        attempt=None,
                        row_id=0,
                        ts=ts,
                        error=run.error,
                    )
                )
        rows = sorted(
            (
                f
                for f in found
                if (pipeline is None or f.pipeline == pipeline)
                and (since is None or runs[f.run_id].started_at >= since)
                and (until is None or runs[f.run_id].started_at < until)
                and (after is None or failure_key(f) < after)
            ),
            key=failure_key,
            reverse=True,
        )
        return page_of(rows, limit, failure_cursor)


def _failure(
    run: RunRecord,
    *,
    factory: str | None,
    attempt: int | None,
    row_id: int,
    ts: float,
    error: dict[str, Any] | None,
) -> FailureRecord:
    """A failure of ``run`` with the parts of ``error`` that grouping reads."""
    error = error or {}
    return FailureRecord(
        run.run_id,
        run.started_at,
        run.pipeline,
        factory,
        attempt,
        RunStatus.FAILED if factory is not None else run.status,
        ts,
        row_id,
        error.get("error_type") or "Error",
        error.get("message") or "",
        error.get("hint"),
        error.get("error_class"),
        tuple(error.get("causes") or ()),
    )
