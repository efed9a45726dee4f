"""``SqlRunHistory``'s queries across runs: pipelines, totals, counts, failures.

Each answers a page of runs (or pages on its own) in a few statements that
the database aggregates, reading indexes rather than every attempt of the
history: a page of 500 runs reads their counts, not their 2,500 attempts.

Added in 0.3 (in ``_sql``).
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from pysetl.monitoring.history import _schema as s
from pysetl.monitoring.history._base import RUN_START_EVENT
from pysetl.monitoring.history._failures import (
    FailureKey,
    failure_cursor,
    failure_key,
)
from pysetl.monitoring.history._sql_rows import mapping
from pysetl.monitoring.history.records import (
    AttemptSummary,
    EventRecord,
    FailureRecord,
    MetricTotal,
    Page,
    PipelineSummary,
    RunRecord,
    RunStatus,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["SqlAcrossRuns"]

_T = TypeVar("_T")


class SqlAcrossRuns:
    """The queries over many runs of ``SqlRunHistory`` (a mixin of it)."""

    if TYPE_CHECKING:  # what SqlRunHistory brings

        @property
        def engine(self) -> sa.Engine:
            """The store's engine."""

        @staticmethod
        def _page(
            items: list[_T], limit: int, key: Callable[[_T], object]
        ) -> Page[_T]: ...

    def _list_pipelines(self, limit: int) -> list[PipelineSummary]:
        c = s.RUNS.c
        # Each pipeline's count and newest run come from the (pipeline, run_id)
        # index alone; the newest runs' rows are then read by primary key.
        groups = (
            sa.select(c.pipeline, sa.func.count(), sa.func.max(c.run_id))
            .group_by(c.pipeline)
            .order_by(c.pipeline)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(groups).all()
            last = {
                row.run_id: row
                for row in conn.execute(
                    sa.select(c.run_id, c.status, c.started_at).where(
                        c.run_id.in_([r[2] for r in rows])
                    )
                )
            }
        return [
            PipelineSummary(
                name,
                int(count),
                newest,
                last[newest].status,
                last[newest].started_at,
            )
            for name, count, newest in rows
        ]

    def _latest_runs(
        self, pipeline: str, statuses: tuple[str | None, ...]
    ) -> dict[str | None, RunRecord]:
        query = _latest_runs_query(statuses)
        with self.engine.connect() as conn:
            rows = conn.execute(query, {"pipeline": pipeline}).all()
        found: dict[str | None, RunRecord] = {}
        for row in rows:
            fields = mapping(row)
            slot = fields.pop("slot")
            found[statuses[slot]] = RunRecord(**fields)
        return found

    def _attempt_summaries(self, run_ids: tuple[str, ...]) -> list[AttemptSummary]:
        c = s.ATTEMPTS.c
        query = (
            sa.select(c.run_id, c.stage_id, c.factory, c.attempt, c.status, c.duration)
            .where(c.run_id.in_(run_ids))
            .order_by(c.id)
        )
        with self.engine.connect() as conn:
            return [AttemptSummary(*row) for row in conn.execute(query)]

    def _metric_totals(
        self,
        run_ids: tuple[str, ...],
        names: tuple[str, ...] | None,
        factory: str | None,
    ) -> list[MetricTotal]:
        c = s.METRICS.c
        query = (
            sa.select(
                c.run_id,
                c.name,
                sa.func.sum(c.value),
                sa.func.max(c.value),
                sa.func.count(),
            )
            .where(c.run_id.in_(run_ids))
            .group_by(c.run_id, c.name)
            .order_by(c.run_id, c.name)
        )
        if names is not None:
            query = query.where(c.name.in_(names))
        if factory is not None:
            query = query.where(c.factory == factory)
        with self.engine.connect() as conn:
            return [
                MetricTotal(rid, name, float(total), float(peak), int(count))
                for rid, name, total, peak, count in conn.execute(query)
            ]

    def _factory_tallies(self, run_ids: tuple[str, ...]) -> dict[str, dict[str, int]]:
        tallies: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(_tallies_query(), {"ids": run_ids})
            for rid, status, count in rows:
                tallies.setdefault(rid, {})[status] = int(count)
        return tallies

    def _factory_totals(self, run_ids: tuple[str, ...]) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                rid: int(total)
                for rid, total in conn.execute(_totals_query(), {"ids": run_ids})
                if total is not None
            }

    def _latest_events(
        self, run_ids: tuple[str, ...], name: str
    ) -> dict[str, EventRecord]:
        c = s.EVENTS.c
        newest = (
            sa.select(sa.func.max(c.id))
            .where(c.run_id.in_(run_ids), c.name == name)
            .group_by(c.run_id)
        )
        query = sa.select(s.EVENTS).where(c.id.in_(newest))
        with self.engine.connect() as conn:
            records = [EventRecord(**mapping(row)) for row in conn.execute(query)]
        return {record.run_id: record for record in records}

    def _list_failures(
        self,
        *,
        pipeline: str | None,
        since: float | None,
        until: float | None,
        limit: int,
        after: FailureKey | None,
    ) -> Page[FailureRecord]:
        a, r = s.ATTEMPTS.c, s.RUNS.c
        dialect = self.engine.dialect.name
        where: list[sa.ColumnElement[bool]] = []
        if pipeline is not None:
            where.append(r.pipeline == pipeline)
        if since is not None:
            where.append(r.started_at >= since)
        if until is not None:
            where.append(r.started_at < until)
        # Two queries in the same order, merged: the failed attempts, and the
        # failed or crashed runs that have none. Both walk the index of the
        # runs' start time from the cursor down, so a page costs about its
        # size whatever the history's. Only the error's small fields are
        # read, never its traceback.
        attempts = (
            sa.select(
                a.run_id,
                r.started_at,
                r.pipeline,
                a.factory,
                a.attempt,
                sa.literal(RunStatus.FAILED.value),
                sa.func.coalesce(a.finished_at, a.started_at, r.started_at),
                a.id,
                *_error_fields(a.error, dialect),
            )
            # run_id || '': runs cannot be looked up from attempts, so the
            # planner walks the runs' start time index (in the query's
            # order, stopping at the page's end) rather than scanning and
            # sorting every attempt of the history (SQLite chose that).
            .join_from(s.RUNS, s.ATTEMPTS, a.run_id == r.run_id.concat(""))
            .where(a.status == RunStatus.FAILED, *where)
            .order_by(r.started_at.desc(), r.run_id.desc(), a.id.desc())
        )
        has_failed_attempt = sa.exists().where(
            a.run_id == r.run_id, a.status == RunStatus.FAILED
        )
        runs = (
            sa.select(
                r.run_id,
                r.started_at,
                r.pipeline,
                sa.null(),
                sa.null(),
                r.status,
                sa.func.coalesce(r.finished_at, r.started_at),
                sa.literal(0),
                *_error_fields(r.error, dialect),
            )
            # NOT IN: the status index would read every failed run; the
            # start time's reads the page's range only.
            .where(
                r.status.not_in((RunStatus.RUNNING, RunStatus.SUCCEEDED)),
                ~has_failed_attempt,
            )
            .where(*where)
            .order_by(r.started_at.desc(), r.run_id.desc())
        )
        if after is not None:
            at, rid, row = after
            attempts = attempts.where(
                r.started_at <= at,
                ~sa.and_(
                    r.started_at == at,
                    sa.or_(r.run_id > rid, sa.and_(r.run_id == rid, a.id >= row)),
                ),
            )
            # A run with a failed attempt has no failure of its own here.
            runs = runs.where(
                r.started_at <= at, ~sa.and_(r.started_at == at, r.run_id >= rid)
            )
        with self.engine.connect() as conn:
            found = [
                _failure_record(row) for row in conn.execute(attempts.limit(limit + 1))
            ]
            if len(found) > limit:  # runs below the page's last are not needed
                runs = runs.where(r.started_at >= found[-1].started_at)
            found += [
                _failure_record(row) for row in conn.execute(runs.limit(limit + 1))
            ]
        found.sort(key=failure_key, reverse=True)
        return self._page(found[: limit + 1], limit, failure_cursor)


_ERROR_FIELDS = ("error_type", "message", "hint", "error_class", "causes")


# The statements below are built once: building one costs more than running it.
@functools.cache
def _tallies_query() -> sa.Select[Any]:
    """Per run of the ``ids`` parameter and status, how many factories have it.

    A factory counts with its latest attempt (highest number, then latest
    row), counted in the database: one row per run and status.
    """
    c = s.ATTEMPTS.c
    latest = (
        sa.select(
            c.run_id,
            c.status,
            sa.func.row_number()
            .over(
                partition_by=(c.run_id, c.factory),
                order_by=(c.attempt.desc(), c.id.desc()),
            )
            .label("n"),
        )
        .where(c.run_id.in_(sa.bindparam("ids", expanding=True)))
        .subquery()
    )
    return (
        sa.select(latest.c.run_id, latest.c.status, sa.func.count())
        .where(latest.c.n == 1)
        .group_by(latest.c.run_id, latest.c.status)
    )


@functools.cache
def _totals_query() -> sa.Select[Any]:
    """The ``factories`` of each run's start event (runs: the ``ids`` parameter).

    One small value out of the event's JSON, read in the database.
    """
    c = s.EVENTS.c
    return sa.select(c.run_id, c.data["factories"].as_integer()).where(
        c.run_id.in_(sa.bindparam("ids", expanding=True)),
        c.name == RUN_START_EVENT,
    )


@functools.lru_cache(maxsize=16)
def _latest_runs_query(statuses: tuple[str | None, ...]) -> sa.CompoundSelect[Any]:
    """Per status, the newest run of the ``pipeline`` parameter, in one statement.

    Each branch takes the index that ``list_runs`` uses too; ``slot`` says
    which status a row answers (a run can answer two: its own and "any").
    """
    c = s.RUNS.c
    branches = []
    for slot, status in enumerate(statuses):
        query = sa.select(*c, sa.literal(slot, sa.Integer).label("slot")).where(
            c.pipeline == sa.bindparam("pipeline")
        )
        if status is not None:
            query = query.where(c.status == status)
        newest = query.order_by(c.run_id.desc()).limit(1).subquery()
        branches.append(sa.select(newest))
    return sa.union_all(*branches)


def _error_fields(
    error: sa.ColumnElement[Any], dialect: str
) -> list[sa.ColumnElement[Any]]:
    """The fields of an ``error`` JSON column that grouping reads (no traceback).

    SQLite reads them in one ``json_extract`` (one parse of the document,
    which holds the traceback, instead of one a field): a JSON array.
    """
    if dialect == "sqlite":
        paths = [f"$.{name}" for name in _ERROR_FIELDS]
        return [sa.func.json_extract(error, *paths, type_=sa.String)]
    return [
        *(error[name].as_string() for name in _ERROR_FIELDS[:-1]),
        error["causes"],
    ]


def _failure_record(row: sa.Row[Any]) -> FailureRecord:
    """A row of ``_list_failures``' queries as a record."""
    values: tuple[Any, ...] = tuple(row)
    rid, started_at, pipeline, factory, attempt, status, ts, row_id = values[:8]
    fields = values[8:]
    if len(fields) == 1:  # SQLite's one array, or NULL for no error
        fields = tuple(json.loads(fields[0])) if fields[0] else (None,) * 5
    error_type, message, hint, error_class, causes = fields
    return FailureRecord(
        rid,
        float(started_at),
        pipeline,
        factory,
        attempt,
        status,
        float(ts),
        int(row_id),
        error_type or "Error",
        message or "",
        hint,
        error_class,
        tuple(causes) if isinstance(causes, list) else (),
    )
