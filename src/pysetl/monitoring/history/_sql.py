"""``SqlRunHistory``: the run history on any SQLAlchemy database (Core only).

One engine per store; its connection pool gives each thread its own
connection, so a store is safe to share between threads. A store pickles to
its URL and options and reconnects lazily on the other side (a process pool
can take it). Each ``apply()`` batch is one transaction: a process killed
mid-batch leaves the store as it was before the batch.

Added in 0.2.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from pysetl.errors import RunHistoryError
from pysetl.monitoring.history import _schema as s
from pysetl.monitoring.history._base import RUN_START_EVENT, BaseRunHistory
from pysetl.monitoring.history._config_rows import SqlConfigRows
from pysetl.monitoring.history._failures import (
    FailureKey,
    failure_cursor,
    failure_key,
)
from pysetl.monitoring.history._log_search import has_fts, with_text
from pysetl.monitoring.history._salvage import (
    REJECTED,
    Rejections,
    clean_item,
    clean_row,
)
from pysetl.monitoring.history._sql_rows import (
    INSERTS,
    coalesce,
    finish_values,
    last_seen,
    log_record,
    mapping,
    pack,
    parse_url,
    run_record,
)
from pysetl.monitoring.history.ops import (
    FinishRun,
    Heartbeat,
    MarkCrashed,
    SaveConfigVersion,
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
    from collections.abc import Callable, Mapping, Sequence

    from pysetl.monitoring.history.ops import Op

__all__ = ["SqlRunHistory"]

# Values per multi-row INSERT on SQLite: every build takes 999 (before 3.32
# the default limit), and 999 leave 90 rows of the widest table a statement.
_SQLITE_VARIABLES = 999


def _insert_chunks(conn: sa.Connection, code: str, rows: list[Sequence[Any]]) -> None:
    """Insert packed ``rows`` into SQLite with multi-row INSERTs.

    ``executemany`` steps the statement once a row, and Python's sqlite3
    lets go of the GIL around every step: with a run's thread waiting for
    the GIL, every row of a batch handed the GIL over and back (two thread
    switches a row), which cost a run more than writing the rows. One
    statement of many rows is one step: one hand-over a chunk.
    """
    table, names = INSERTS[code]
    width = len(names)
    per = max(1, _SQLITE_VARIABLES // width)
    group = "(" + ",".join("?" * width) + ")"
    columns = ", ".join(f'"{name}"' for name in names)
    head = f'INSERT INTO "{table.name}" ({columns}) VALUES '  # noqa: S608 - our schema's names
    full = head + ",".join([group] * per)
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        sql = full if len(chunk) == per else head + ",".join([group] * len(chunk))
        conn.exec_driver_sql(sql, tuple(itertools.chain.from_iterable(chunk)))


_T = TypeVar("_T")


class SqlRunHistory(BaseRunHistory, SqlConfigRows):
    """A run history in a SQL database reached through SQLAlchemy.

    The schema is created or migrated when the store opens (see ``_schema``).

    Args:
        url: A SQLAlchemy URL (``postgresql+psycopg://user:pw@host/db``).
        engine_options: Extra keyword arguments for ``sqlalchemy.create_engine``.
        migrate: Create or migrate the schema now (``False``: on first use).
        create: Create or migrate the schema when it is missing or older;
            ``False`` opens an existing, current pysetl history only, and
            adds no table to the database (what read-only commands use).

    Raises:
        RunHistoryError: The store cannot be reached or migrated; its schema
            is newer than this pysetl knows; with ``create=False``, it holds
            no pysetl history or an older one.

    Changed in 0.5: ``create``; a newer schema is refused when the store
    opens, not read.
    """

    foreign_errors: ClassVar[tuple[type[Exception], ...]] = (sa_exc.SQLAlchemyError,)

    def __init__(
        self,
        url: str | sa.URL,
        *,
        engine_options: Mapping[str, Any] | None = None,
        migrate: bool = True,
        create: bool = True,
    ) -> None:
        """Parse the URL and open the store (creating or migrating its schema)."""
        self._url = parse_url(url)
        self._engine_options = dict(engine_options or {})
        self.create = create
        self.url = self._url.render_as_string(hide_password=True)
        self._engine: sa.Engine | None = None
        self._migrated = False
        self._lock = threading.Lock()
        # Compiled bulk inserts by (table, columns); see _insert_many.
        self._prepared: dict[str, Any] = {}
        self._rejections = Rejections()
        if migrate:
            self._open_or_close()

    @property
    def rejected(self) -> int:
        """Rows the database rejected, even cleaned, and that were dropped.

        Added in 0.5.
        """
        return self._rejections.rows

    # ------------------------------------------------------------ connection
    def _open_or_close(self) -> None:
        """Open the store; if it cannot be, release its connections and raise."""
        try:
            self._open()
        except BaseException:
            self.close()  # nobody holds the half-built store to close it
            raise

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine, created on first use."""
        with self._lock:
            if self._engine is None:
                options = {"hide_parameters": True, **self._engine_options}
                self._engine = self._create_engine(self._url, options)
            return self._engine

    def _create_engine(self, url: sa.URL, options: dict[str, Any]) -> sa.Engine:
        """Create the engine; subclasses add dialect settings."""
        return sa.create_engine(url, **options)

    def _write_lock(self, conn: sa.Connection) -> None:
        """Serialise writers that migrate; subclasses take their dialect's lock."""

    def _begin_write(self) -> Any:
        """A transaction for a batch of writes."""
        return self.engine.begin()

    def _open(self) -> None:
        if self._migrated:
            return
        self._call("open", self._migrate_now)

    def _migrate_now(self) -> None:
        with self.engine.connect() as conn:  # fast path: no write lock
            version = s.current_version(conn)
        s.check_not_newer(version, self.url)
        if version < s.LATEST_VERSION:
            if not self.create:
                raise self._not_current(version)
            with self._begin_write() as conn:
                self._write_lock(conn)
                s.migrate(conn)
        self._migrated = True

    def _not_current(self, version: int) -> RunHistoryError:
        """The error of opening, without ``create``, a store that is not current."""
        if version == 0:
            msg = (
                f"{self.url!r} holds no pysetl run history "
                "(no pysetl_schema_version table)"
            )
            hint = (
                "point --history (or PYSETL_HISTORY_URL) at a pysetl history; "
                "a pipeline run creates one"
            )
        else:
            msg = (
                f"The run history {self.url!r} has the older schema version "
                f"{version!r}; this pysetl reads version {s.LATEST_VERSION!r}"
            )
            hint = "run any pipeline with this history once to upgrade it"
        return RunHistoryError(msg, hint=hint)

    def migrate(self, *, target: int = s.LATEST_VERSION) -> int:
        """Apply the missing migrations up to ``target``; return the version."""

        def run() -> int:
            with self._begin_write() as conn:
                self._write_lock(conn)
                return s.migrate(conn, target=target)

        version: int = self._call("migrate", run)
        self._migrated = version >= s.LATEST_VERSION
        return version

    def close(self) -> None:
        """Close every pooled connection (the store reconnects on next use)."""
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()

    def close_soon(self) -> None:
        """Detach the connections now; close them on a daemon thread.

        Closing the last connection to a SQLite file checkpoints its
        write-ahead log and syncs the file (10 to 50 ms on common disks),
        which the caller need not wait for: every commit is already durable
        in the log. If the process exits first, the log stays beside the
        file and the next opener checkpoints it (SQLite's own recovery).
        """
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            threading.Thread(
                target=_dispose,
                args=(engine,),
                name="pysetl-history-close",
                daemon=True,
            ).start()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the URL and options only; the engine is rebuilt on use."""
        return {
            "url": self._url.render_as_string(hide_password=False),
            "engine_options": self._engine_options,
            "create": self.create,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild the store from its URL and options, lazily."""
        type(self).__init__(
            self,
            state["url"],
            engine_options=state["engine_options"],
            migrate=False,
            create=state.get("create", True),
        )

    def _call(
        self, action: str, function: Callable[..., _T], *args: Any, **kwargs: Any
    ) -> _T:
        if not self._migrated and action not in {"open", "migrate"}:
            self._open()
        return super()._call(action, function, *args, **kwargs)

    # ---------------------------------------------------------------- writes
    pack = staticmethod(pack)
    """``op`` as the writer should queue it: a packed row (see ``_sql_rows``).

    Called on the thread that records (``BackgroundWriter.put``); the batch
    of packed rows and operations comes back to ``write_batch``.
    """

    def _apply(self, ops: Sequence[object]) -> None:
        self._write(*coalesce(ops))

    def _write_batch(self, ops: Sequence[object]) -> None:
        """Write the batch; if its values are rejected, salvage what can be stored.

        See ``_salvage``: the batch again with its texts cleaned, then
        halves down to single rows; a row that still fails is dropped and
        counted in ``rejected``. Errors of an unreachable or locked store
        are raised (the writer retries the batch).
        """
        inserts, later = coalesce(ops)
        try:
            self._write(inserts, later)
        except REJECTED as error:
            first = error
        else:
            return
        inserts = {
            code: [clean_row(code, row) for row in rows]
            for code, rows in inserts.items()
        }
        later = [clean_item(item) for item in later]
        try:
            self._write(inserts, later)
        except REJECTED:
            lost = sum(self._write_apart(code, rows) for code, rows in inserts.items())
            lost += sum(self._write_apart("", [item]) for item in later)
        else:
            lost = 0
        self._rejections.report(first, lost, self.url)

    def _write_apart(self, code: str, rows: list[Any]) -> int:
        """Write ``rows`` of insert ``code`` ("": updates) in halves; count the lost."""
        try:
            if code:
                self._write({code: rows}, [])
            else:
                self._write({}, rows)
        except REJECTED:
            if len(rows) == 1:
                return 1
            half = len(rows) // 2
            return self._write_apart(code, rows[:half]) + self._write_apart(
                code, rows[half:]
            )
        return 0

    def _write(self, inserts: Mapping[str, list[Any]], later: Sequence[object]) -> None:
        with self._begin_write() as conn:
            # One executemany per table (no table refers to another, so the
            # order between tables does not matter), then the updates in order.
            for code, rows in inserts.items():
                self._insert_many(conn, code, rows)
            for item in later:
                if item.__class__ is tuple:  # a finish of an earlier batch's row
                    table = s.ATTEMPTS if item[0] == "A" else s.STAGES
                    self._upsert(conn, table, *finish_values(item))
                else:
                    self._apply_one(conn, item)  # type: ignore[arg-type]

    def _insert_many(
        self, conn: sa.Connection, code: str, rows: list[Sequence[Any]]
    ) -> None:
        """Insert packed ``rows`` of one insert ``code`` in one DBAPI ``executemany``.

        The statement is compiled once per code; the values are plain (JSON
        is text already). This skips SQLAlchemy's per-row parameter
        processing, which cost about 20 us a row.
        """
        prepared = self._prepared.get(code)
        if prepared is None:
            table, names = INSERTS[code]
            compiled = table.insert().compile(
                dialect=conn.dialect, column_keys=list(names)
            )
            # Positional paramstyles (SQLite's qmark) take tuples in the
            # statement's order; named ones (psycopg's pyformat) take dicts.
            positions = compiled.positiontup
            if positions is None:
                prepared = (str(compiled), names, None)
            elif tuple(positions) == names:
                prepared = (str(compiled), None, None)
            else:
                prepared = (str(compiled), None, [names.index(n) for n in positions])
            self._prepared[code] = prepared
        sql, named, order = prepared
        if named is None and order is None and conn.dialect.name == "sqlite":
            _insert_chunks(conn, code, rows)
            return
        params: list[Any]
        if named is not None:
            params = [dict(zip(named, row, strict=True)) for row in rows]
        elif order is not None:
            params = [tuple(row[i] for i in order) for row in rows]
        else:  # the DBAPI takes tuples; attempts and stages were lists
            params = [row if row.__class__ is tuple else tuple(row) for row in rows]
        conn.exec_driver_sql(sql, params)

    def _apply_one(self, conn: sa.Connection, op: Op) -> None:
        # Finishes of stages and attempts come packed (``finish_values``).
        if isinstance(op, FinishRun):
            conn.execute(
                s.RUNS.update()
                .where(s.RUNS.c.run_id == op.run_id)
                .values(status=op.status, finished_at=op.finished_at, error=op.error)
            )
        elif isinstance(op, Heartbeat):
            conn.execute(
                s.RUNS.update()
                .where(
                    s.RUNS.c.run_id == op.run_id, s.RUNS.c.status == RunStatus.RUNNING
                )
                .values(heartbeat_at=op.at)
            )
        elif isinstance(op, MarkCrashed):
            self._mark_crashed(conn, op)
        elif isinstance(op, SaveConfigVersion):
            self._save_config(conn, op)

    @staticmethod
    def _save_config(conn: sa.Connection, op: SaveConfigVersion) -> None:
        table = s.CONFIG_VERSIONS
        found = conn.execute(
            sa.select(table.c.hash).where(table.c.hash == op.hash)
        ).first()
        if found is None:
            conn.execute(
                table.insert().values(
                    hash=op.hash, content=op.content, created_at=op.created_at
                )
            )

    @staticmethod
    def _upsert(
        conn: sa.Connection,
        table: sa.Table,
        key: dict[str, Any],
        values: dict[str, Any],
    ) -> None:
        where = [table.c[name] == value for name, value in key.items()]
        result = conn.execute(table.update().where(*where).values(**values))
        if result.rowcount == 0:
            conn.execute(table.insert().values(**key, **values))

    @staticmethod
    def _mark_crashed(conn: sa.Connection, op: MarkCrashed) -> None:
        # It ended when it was last seen alive: a heartbeat, or anything it
        # recorded later (a run killed before its first heartbeat is not 0 s).
        at = max(op.at, last_seen(conn, op.run_id) or op.at)
        result = conn.execute(
            s.RUNS.update()
            .where(s.RUNS.c.run_id == op.run_id, s.RUNS.c.status == RunStatus.RUNNING)
            .values(status=RunStatus.CRASHED, finished_at=at, error=op.error())
        )
        if result.rowcount == 0:
            return
        for table in (s.STAGES, s.ATTEMPTS):
            conn.execute(
                table.update()
                .where(table.c.run_id == op.run_id, table.c.status == RunStatus.RUNNING)
                .values(
                    status=RunStatus.CRASHED,
                    finished_at=at,
                    duration=sa.literal(at, sa.Double) - table.c.started_at,
                )
            )

    # ----------------------------------------------------------------- reads
    def _rows(
        self, query: sa.Select[Any], limit: int, make: Callable[[Any], _T]
    ) -> list[_T]:
        with self.engine.connect() as conn:
            return [make(row) for row in conn.execute(query.limit(limit + 1))]

    @staticmethod
    def _page(items: list[_T], limit: int, key: Callable[[_T], object]) -> Page[_T]:
        if len(items) > limit:
            return Page(tuple(items[:limit]), str(key(items[limit - 1])))
        return Page(tuple(items), None)

    def _get_run(self, run_id: str) -> RunRecord | None:
        query = sa.select(s.RUNS).where(s.RUNS.c.run_id == run_id)
        found = self._rows(query, 1, run_record)
        return found[0] if found else None

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
        c = s.RUNS.c
        query = sa.select(s.RUNS).order_by(c.run_id.desc())
        if pipeline is not None:
            query = query.where(c.pipeline == pipeline)
        if host is not None:
            query = query.where(c.host == host)
        if status is not None:
            query = query.where(c.status == status)
        if since is not None:
            query = query.where(c.started_at >= since)
        if until is not None:
            query = query.where(c.started_at < until)
        if cursor is not None:
            query = query.where(c.run_id < cursor)
        return self._page(
            self._rows(query, limit, run_record), limit, lambda r: r.run_id
        )

    def _list_stage_runs(
        self, run_id: str, limit: int, after: int | None
    ) -> Page[StageRecord]:
        c = s.STAGES.c
        query = sa.select(s.STAGES).where(c.run_id == run_id).order_by(c.stage_id)
        if after is not None:
            query = query.where(c.stage_id > after)
        rows = self._rows(query, limit, lambda r: StageRecord(**mapping(r)))
        return self._page(rows, limit, lambda r: r.stage_id)

    def _list_factory_attempts(
        self, run_id: str, factory: str | None, limit: int, after: int | None
    ) -> Page[FactoryAttemptRecord]:
        c = s.ATTEMPTS.c
        query = sa.select(s.ATTEMPTS).where(c.run_id == run_id).order_by(c.id)
        if factory is not None:
            query = query.where(c.factory == factory)
        if after is not None:
            query = query.where(c.id > after)
        rows = self._rows(query, limit, lambda r: FactoryAttemptRecord(**mapping(r)))
        return self._page(rows, limit, lambda r: r.id)

    def _list_events(
        self,
        run_id: str,
        name: str | None,
        factory: str | None,
        limit: int,
        after: int | None,
    ) -> Page[EventRecord]:
        c = s.EVENTS.c
        query = sa.select(s.EVENTS).where(c.run_id == run_id).order_by(c.id)
        if name is not None:
            query = query.where(c.name == name)
        if factory is not None:
            query = query.where(c.factory == factory)
        if after is not None:
            query = query.where(c.id > after)
        rows = self._rows(query, limit, lambda r: EventRecord(**mapping(r)))
        return self._page(rows, limit, lambda r: r.id)

    def _list_metrics(
        self, run_id: str, name: str | None, limit: int, after: int | None
    ) -> Page[MetricRecord]:
        c = s.METRICS.c
        query = sa.select(s.METRICS).where(c.run_id == run_id).order_by(c.id)
        if name is not None:
            query = query.where(c.name == name)
        if after is not None:
            query = query.where(c.id > after)
        rows = self._rows(query, limit, lambda r: MetricRecord(**mapping(r)))
        return self._page(rows, limit, lambda r: r.id)

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
        c = s.LOGS.c
        query = sa.select(s.LOGS).order_by(c.id)
        if run_id is not None:
            query = query.where(c.run_id == run_id)
        if factory is not None:
            query = query.where(c.factory == factory)
        if level is not None:
            query = query.where(c.levelno >= level)
        if text is not None:
            query = with_text(
                query, text, run_id=run_id, after=after, fts=self._has_log_fts
            )
        if after is not None:
            query = query.where(c.id > after)
        rows = self._rows(query, limit, log_record)
        return self._page(rows, limit, lambda r: r.id)

    def _has_log_fts(self) -> bool:
        """Whether this SQLite store has the full-text table of log lines (cached)."""
        found: bool | None = self.__dict__.get("_log_fts")
        if found is None:
            if self.engine.dialect.name != "sqlite":
                found = False
            else:
                with self.engine.connect() as conn:
                    found = has_fts(conn)
            self.__dict__["_log_fts"] = found
        return found

    # ------------------------------------------------ reads across runs (0.3)
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
        c = s.ATTEMPTS.c
        # Each factory's latest attempt (highest number, then latest row),
        # counted by status in the database: one row per run and status.
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
            .where(c.run_id.in_(run_ids))
            .subquery()
        )
        query = (
            sa.select(latest.c.run_id, latest.c.status, sa.func.count())
            .where(latest.c.n == 1)
            .group_by(latest.c.run_id, latest.c.status)
        )
        tallies: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for rid, status, count in conn.execute(query):
                tallies.setdefault(rid, {})[status] = int(count)
        return tallies

    def _factory_totals(self, run_ids: tuple[str, ...]) -> dict[str, int]:
        c = s.EVENTS.c
        # One small value out of the start event's JSON, read in the database.
        query = sa.select(c.run_id, c.data["factories"].as_integer()).where(
            c.run_id.in_(run_ids), c.name == RUN_START_EVENT
        )
        with self.engine.connect() as conn:
            return {
                rid: int(total)
                for rid, total in conn.execute(query)
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

    # ------------------------------------------------------------ maintenance
    def _prune(self, cutoff: float) -> int:
        runs = s.RUNS.c
        gone = sa.select(runs.run_id).where(
            runs.started_at < cutoff, runs.status != RunStatus.RUNNING
        )
        with self._begin_write() as conn:
            for table in (s.STAGES, s.ATTEMPTS, s.EVENTS, s.METRICS):
                conn.execute(table.delete().where(table.c.run_id.in_(gone)))
            conn.execute(
                s.LOGS.delete().where(
                    sa.or_(
                        s.LOGS.c.run_id.in_(gone),
                        sa.and_(s.LOGS.c.run_id.is_(None), s.LOGS.c.ts < cutoff),
                    )
                )
            )
            result = conn.execute(
                s.RUNS.delete().where(
                    runs.started_at < cutoff, runs.status != RunStatus.RUNNING
                )
            )
            return int(result.rowcount)

    def _schema_version(self) -> int:
        with self.engine.connect() as conn:
            return s.current_version(conn)


_ERROR_FIELDS = ("error_type", "message", "hint", "error_class", "causes")


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


def _dispose(engine: sa.Engine) -> None:
    """Close ``engine``'s connections; a failure is logged (nothing waits for it)."""
    try:
        engine.dispose()
    except Exception:
        logging.getLogger("pysetl.monitoring.history").debug(
            "pysetl: closing a run history's connections failed", exc_info=True
        )
