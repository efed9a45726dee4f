"""``InMemoryRunHistory``: a run history in plain Python objects, for tests.

It follows the same contract as the SQL stores (ordering, paging, filters,
crash marking), so tests of observers can use it without a database. It is
thread-safe and lives as long as the object. Its queries across runs are
``_memory_across_runs.MemoryAcrossRuns``, its config version rows
``_config_rows.MemoryConfigRows``: mixins of ``InMemoryRunHistory``.

Added in 0.2. Changed in 0.7: the queries across runs moved out.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING, Any

from pysetl.monitoring.history._base import BaseRunHistory
from pysetl.monitoring.history._config_rows import MemoryConfigRows
from pysetl.monitoring.history._memory_across_runs import MemoryAcrossRuns, page_of
from pysetl.monitoring.history._schema import LATEST_VERSION
from pysetl.monitoring.history.ops import (
    AddEvent,
    AddLog,
    AddMetric,
    FinishAttempt,
    FinishRun,
    FinishStage,
    Heartbeat,
    MarkCrashed,
    SaveConfigVersion,
    StartAttempt,
    StartRun,
    StartStage,
    cut,
)
from pysetl.monitoring.history.records import (
    EventRecord,
    FactoryAttemptRecord,
    LogRecord,
    MetricRecord,
    Page,
    RunRecord,
    RunStatus,
    StageRecord,
    level_number,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pysetl.monitoring.history.ops import Op

__all__ = ["InMemoryRunHistory"]


def _since(part: StageRecord | FactoryAttemptRecord, at: float) -> float | None:
    """Seconds from the start of a stage or attempt to ``at``, if it started."""
    return None if part.started_at is None else at - part.started_at


class InMemoryRunHistory(MemoryAcrossRuns, BaseRunHistory, MemoryConfigRows):
    """A run history kept in memory (nothing survives the object).

    Examples:
        >>> history = InMemoryRunHistory()
        >>> history.start_run("01J...", "daily")
        >>> history.get_run("01J...").status == "running"
        True
    """

    def __init__(self) -> None:
        """Create an empty store."""
        self.url = "memory://"
        self._lock = threading.RLock()
        self._runs: dict[str, RunRecord] = {}
        self._stages: dict[tuple[str, int], StageRecord] = {}
        self._attempts: dict[tuple[str, int, str, int], FactoryAttemptRecord] = {}
        self._events: list[EventRecord] = []
        self._metrics: list[MetricRecord] = []
        self._logs: list[LogRecord] = []
        self.config_versions: dict[str, str] = {}
        MemoryConfigRows.__init__(self)  # the config version and audit rows
        self._next_id = 0

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # ---------------------------------------------------------------- writes
    def _apply(self, ops: Sequence[Op]) -> None:
        with self._lock:
            for op in ops:
                self._apply_one(op)

    def _apply_one(self, op: Op) -> None:  # noqa: C901, PLR0912 - one branch per op
        if isinstance(op, StartRun):
            self._runs[op.run_id] = RunRecord(
                run_id=op.run_id,
                pipeline=op.pipeline,
                status=RunStatus.RUNNING,
                started_at=op.started_at,
                heartbeat_at=op.started_at,
                pid=op.pid,
                host=op.host,
                config_version=op.config_version,
                resumed_from=op.resumed_from,
            )
        elif isinstance(op, FinishRun):
            self._update_run(
                op.run_id, status=op.status, finished_at=op.finished_at, error=op.error
            )
        elif isinstance(op, Heartbeat):
            run = self._runs.get(op.run_id)
            if run is not None and run.status == RunStatus.RUNNING:
                self._update_run(op.run_id, heartbeat_at=op.at)
        elif isinstance(op, MarkCrashed):
            self._mark_crashed(op)
        elif isinstance(op, StartStage):
            self._stages[op.run_id, op.stage_id] = StageRecord(
                op.run_id, op.stage_id, RunStatus.RUNNING, op.started_at
            )
        elif isinstance(op, FinishStage):
            key = (op.run_id, op.stage_id)
            old = self._stages.get(key)
            self._stages[key] = StageRecord(
                op.run_id,
                op.stage_id,
                op.status,
                old.started_at if old else None,
                op.finished_at,
                op.duration,
                op.error,
            )
        elif isinstance(op, StartAttempt):
            key4 = (op.run_id, op.stage_id, op.factory, op.attempt)
            self._attempts[key4] = FactoryAttemptRecord(
                self._new_id(),
                op.run_id,
                op.stage_id,
                op.factory,
                op.attempt,
                RunStatus.RUNNING,
                op.started_at,
            )
        elif isinstance(op, FinishAttempt):
            self._finish_attempt(op)
        elif isinstance(op, AddEvent):
            self._events.append(
                EventRecord(
                    self._new_id(),
                    op.run_id,
                    op.ts,
                    op.name,
                    op.stage_id,
                    op.factory,
                    op.attempt,
                    dict(op.data),
                )
            )
        elif isinstance(op, AddMetric):
            self._metrics.append(
                MetricRecord(
                    self._new_id(),
                    op.run_id,
                    op.name,
                    op.value,
                    op.ts,
                    op.factory,
                    dict(op.labels),
                )
            )
        elif isinstance(op, AddLog):
            self._logs.append(
                LogRecord(
                    self._new_id(),
                    op.ts,
                    op.level.upper(),
                    cut(op.message),
                    op.run_id,
                    op.factory,
                    op.logger,
                )
            )
        else:
            self._save_config(op)

    def _save_config(self, op: SaveConfigVersion) -> None:
        self.config_versions.setdefault(op.hash, op.content)

    def _update_run(self, run_id: str, **changes: Any) -> None:
        run = self._runs.get(run_id)
        if run is not None:
            self._runs[run_id] = dataclasses.replace(run, **changes)

    def _finish_attempt(self, op: FinishAttempt) -> None:
        key = (op.run_id, op.stage_id, op.factory, op.attempt)
        old = self._attempts.get(key)
        self._attempts[key] = FactoryAttemptRecord(
            old.id if old else self._new_id(),
            op.run_id,
            op.stage_id,
            op.factory,
            op.attempt,
            op.status,
            old.started_at if old else None,
            op.finished_at,
            op.duration,
            dict(op.phases),
            op.phase,
            op.error,
        )

    def _mark_crashed(self, op: MarkCrashed) -> None:
        run = self._runs.get(op.run_id)
        if run is None or run.status != RunStatus.RUNNING:
            return
        at = max(op.at, self._last_seen(run))
        self._update_run(
            op.run_id, status=RunStatus.CRASHED, finished_at=at, error=op.error()
        )
        for key, stage in self._stages.items():
            if stage.run_id == op.run_id and stage.status == RunStatus.RUNNING:
                self._stages[key] = dataclasses.replace(
                    stage,
                    status=RunStatus.CRASHED,
                    finished_at=at,
                    duration=_since(stage, at),
                )
        for key4, attempt in self._attempts.items():
            if attempt.run_id == op.run_id and attempt.status == RunStatus.RUNNING:
                self._attempts[key4] = dataclasses.replace(
                    attempt,
                    status=RunStatus.CRASHED,
                    finished_at=at,
                    duration=_since(attempt, at),
                )

    def _last_seen(self, run: RunRecord) -> float:
        """The latest time anything was recorded for ``run`` (its last sign of life)."""
        rid = run.run_id
        times = [run.started_at, run.heartbeat_at]
        times += [e.ts for e in self._events if e.run_id == rid]
        times += [m.ts for m in self._metrics if m.run_id == rid]
        times += [line.ts for line in self._logs if line.run_id == rid]
        parts: list[StageRecord | FactoryAttemptRecord] = [
            *self._stages.values(),
            *self._attempts.values(),
        ]
        for part in parts:
            if part.run_id == rid:
                times += [part.started_at, part.finished_at]
        return max(t for t in times if t is not None)

    # ----------------------------------------------------------------- reads
    def _get_run(self, run_id: str) -> RunRecord | None:
        with self._lock:
            return self._runs.get(run_id)

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
        with self._lock:
            runs = sorted(self._runs.values(), key=lambda r: r.run_id, reverse=True)
        rows = (
            r
            for r in runs
            if (pipeline is None or r.pipeline == pipeline)
            and (host is None or r.host == host)
            and (status is None or r.status == status)
            and (since is None or r.started_at >= since)
            and (until is None or r.started_at < until)
            and (cursor is None or r.run_id < cursor)
        )
        return page_of(rows, limit, lambda r: r.run_id)

    def _list_stage_runs(
        self, run_id: str, limit: int, after: int | None
    ) -> Page[StageRecord]:
        with self._lock:
            stages = sorted(
                (s for s in self._stages.values() if s.run_id == run_id),
                key=lambda s: s.stage_id,
            )
        rows = (s for s in stages if after is None or s.stage_id > after)
        return page_of(rows, limit, lambda s: s.stage_id)

    def _list_factory_attempts(
        self, run_id: str, factory: str | None, limit: int, after: int | None
    ) -> Page[FactoryAttemptRecord]:
        with self._lock:
            attempts = sorted(self._attempts.values(), key=lambda a: a.id)
        rows = (
            a
            for a in attempts
            if a.run_id == run_id
            and (factory is None or a.factory == factory)
            and (after is None or a.id > after)
        )
        return page_of(rows, limit, lambda a: a.id)

    def _list_events(
        self,
        run_id: str,
        name: str | None,
        factory: str | None,
        limit: int,
        after: int | None,
    ) -> Page[EventRecord]:
        with self._lock:
            events = list(self._events)
        rows = (
            e
            for e in events
            if e.run_id == run_id
            and (name is None or e.name == name)
            and (factory is None or e.factory == factory)
            and (after is None or e.id > after)
        )
        return page_of(rows, limit, lambda e: e.id)

    def _list_metrics(
        self, run_id: str, name: str | None, limit: int, after: int | None
    ) -> Page[MetricRecord]:
        with self._lock:
            metrics = list(self._metrics)
        rows = (
            m
            for m in metrics
            if m.run_id == run_id
            and (name is None or m.name == name)
            and (after is None or m.id > after)
        )
        return page_of(rows, limit, lambda m: m.id)

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
        with self._lock:
            logs = list(self._logs)
        needle = text.casefold() if text is not None else None
        rows = (
            g
            for g in logs
            if (run_id is None or g.run_id == run_id)
            and (factory is None or g.factory == factory)
            and (level is None or level_number(g.level) >= level)
            and (needle is None or needle in g.message.casefold())
            and (after is None or g.id > after)
        )
        return page_of(rows, limit, lambda g: g.id)

    # ------------------------------------------------------------ maintenance
    def _prune(self, cutoff: float) -> int:
        with self._lock:
            gone = {
                r.run_id
                for r in self._runs.values()
                if r.started_at < cutoff and r.status != RunStatus.RUNNING
            }
            for run_id in gone:
                del self._runs[run_id]
            self._stages = {k: v for k, v in self._stages.items() if k[0] not in gone}
            self._attempts = {
                k: v for k, v in self._attempts.items() if k[0] not in gone
            }
            self._events = [e for e in self._events if e.run_id not in gone]
            self._metrics = [m for m in self._metrics if m.run_id not in gone]
            self._logs = [
                g
                for g in self._logs
                if g.run_id not in gone and not (g.run_id is None and g.ts < cutoff)
            ]
            return len(gone)

    def _schema_version(self) -> int:
        return LATEST_VERSION
