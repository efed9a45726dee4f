"""``SqlRunHistory``: the run history on any SQLAlchemy database (Core only).

One engine per store; its connection pool gives each thread its own
connection, so a store is safe to share between threads. A store pickles to
its URL and options and reconnects lazily on the other side (a process pool
can take it). Each ``apply()`` batch is one transaction: a process killed
mid-batch leaves the store as it was before the batch.

This module opens, migrates and closes the store and answers the reads of
one run; the writes are ``_sql_writes.SqlWrites``, the queries across runs
``_sql_across_runs.SqlAcrossRuns`` and the config version rows
``_config_rows.SqlConfigRows``, mixins of ``SqlRunHistory``.

Added in 0.2. Changed in 0.7: split into those modules (906 lines).
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from pysetl.errors import RunHistoryError
from pysetl.monitoring.history import _schema as s
from pysetl.monitoring.history._base import BaseRunHistory
from pysetl.monitoring.history._config_rows import SqlConfigRows
from pysetl.monitoring.history._engines import SHARED_ENGINES, SharedEngine
from pysetl.monitoring.history._log_search import has_fts, with_text
from pysetl.monitoring.history._salvage import (
    Rejections,
)
from pysetl.monitoring.history._sql_across_runs import SqlAcrossRuns
from pysetl.monitoring.history._sql_rows import (
    log_record,
    mapping,
    parse_url,
    run_record,
)
from pysetl.monitoring.history._sql_writes import SqlWrites
from pysetl.monitoring.history.records import (
    EventRecord,
    FactoryAttemptRecord,
    LogRecord,
    MetricRecord,
    Page,
    RunRecord,
    RunStatus,
    StageRecord,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Mapping


__all__ = ["SqlRunHistory"]

_T = TypeVar("_T")


class SqlRunHistory(SqlWrites, SqlAcrossRuns, BaseRunHistory, SqlConfigRows):
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
        self._shared: SharedEngine | None = None  # when the engine is shared
        self._migrated = False
        self._lock = threading.Lock()
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
        """The SQLAlchemy engine, made (or taken from the shared ones) on first use."""
        with self._lock:
            if self._engine is None:
                options = {"hide_parameters": True, **self._engine_options}
                key = self._share_key()
                if key is None:
                    self._engine = self._create_engine(self._url, options)
                else:
                    shared = self._shared = SHARED_ENGINES.acquire(
                        key,
                        self._identity(),
                        lambda: self._create_engine(self._url, options),
                    )
                    self._engine = shared.engine
            return self._engine

    def _create_engine(self, url: sa.URL, options: dict[str, Any]) -> sa.Engine:
        """Create the engine; subclasses add dialect settings."""
        return sa.create_engine(url, **options)

    def _share_key(self) -> Hashable | None:
        """What stores sharing this one's engine have in common (``None``: none).

        Subclasses whose engines can be shared in the process say so (see
        ``_engines``); by default each store has its own.
        """
        return None

    def _identity(self) -> Any:
        """The database's identity now: a shared engine of another is stale."""
        return None

    def _when_idle(self, engine: sa.Engine) -> None:
        """Called when a shared engine is left unused (subclasses tidy up)."""

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
        """Close every pooled connection (the store reconnects on next use).

        A shared engine (``_engines``) is given back instead, and stays open
        for the next store of the same database in this process.
        """
        closing = self._let_go()
        if closing is not None:
            closing()

    def close_soon(self) -> None:
        """Detach the connections now; close them on a daemon thread.

        Closing the last connection to a SQLite file checkpoints its
        write-ahead log and syncs the file (10 to 50 ms on common disks),
        which the caller need not wait for: every commit is already durable
        in the log. If the process exits first, the log stays beside the
        file and the next opener checkpoints it (SQLite's own recovery).
        """
        closing = self._let_go()
        if closing is not None:
            threading.Thread(
                target=_quietly,
                args=(closing,),
                name="pysetl-history-close",
                daemon=True,
            ).start()

    def _let_go(self) -> Callable[[], None] | None:
        """Detach the engine; what closing it still takes (``None``: nothing).

        An engine of its own is disposed of; a shared one is given back,
        and when nobody uses it any more its log is tidied (``_when_idle``).
        """
        with self._lock:
            engine, self._engine = self._engine, None
            shared, self._shared = self._shared, None
        if shared is not None:
            if SHARED_ENGINES.release(shared):
                return functools.partial(self._when_idle, shared.engine)
            return None
        return None if engine is None else engine.dispose

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


def _quietly(closing: Callable[[], None]) -> None:
    """Run ``closing`` (a store's last work); a failure is logged (nothing waits)."""
    try:
        closing()
    except Exception:
        logging.getLogger("pysetl.monitoring.history").debug(
            "pysetl: closing a run history's connections failed", exc_info=True
        )
