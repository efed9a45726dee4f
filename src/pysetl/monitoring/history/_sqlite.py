"""``SqliteRunHistory``: the default run history, one SQLite file per project.

Every connection runs in WAL mode (readers never block the writer, and a
commit is atomic even if the process is killed), with ``synchronous=NORMAL``
(durable at each checkpoint; safe against process crashes) and a busy
timeout, so many processes can write one file at once. Write transactions
start with ``BEGIN IMMEDIATE``: a writer takes the lock up front and waits
for it, instead of failing when it upgrades a read lock.

Added in 0.2.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pysetl.errors import RunHistoryError
from pysetl.monitoring.history._sql import SqlRunHistory
from pysetl.monitoring.history._sql_rows import parse_url

if TYPE_CHECKING:
    import os
    from collections.abc import Iterator, Mapping

__all__ = ["SqliteRunHistory"]

_WRITE = "pysetl_write"


class SqliteRunHistory(SqlRunHistory):
    """A run history in one SQLite file (created with its folder if missing).

    Args:
        path: The database file, or a ``sqlite:///...`` URL.
        busy_timeout: Seconds a writer waits for the lock before failing.
        engine_options: Extra keyword arguments for ``sqlalchemy.create_engine``.
        migrate: Create or migrate the schema now (``False``: on first use).

    Example:
        >>> history = SqliteRunHistory(".pysetl/history.db")
        >>> history.list_runs(limit=10).items
        ()
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 30.0,
        engine_options: Mapping[str, Any] | None = None,
        migrate: bool = True,
    ) -> None:
        """Create the folder of the file, then open the store."""
        text = str(path)
        url = parse_url(text) if "://" in text else _file_url(Path(text))
        if url.database:
            try:
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                msg = f"Cannot create the folder of the run history {text!r}: {exc}"
                raise RunHistoryError(
                    msg, hint="point PYSETL_HISTORY_URL (or --history) elsewhere"
                ) from exc
        self.busy_timeout = busy_timeout
        super().__init__(url, engine_options=engine_options, migrate=migrate)

    def _create_engine(self, url: sa.URL, options: dict[str, Any]) -> sa.Engine:
        connect_args = {"timeout": self.busy_timeout, **options.pop("connect_args", {})}
        engine = sa.create_engine(url, connect_args=connect_args, **options)
        busy_ms = int(self.busy_timeout * 1000)

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # We emit BEGIN ourselves (below), so the driver must not.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
            finally:
                cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            write = conn.get_execution_options().get(_WRITE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine

    @contextlib.contextmanager
    def _begin_write(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    def _hint(self, exc: Exception) -> str:
        if "locked" in str(exc):
            return (
                "another process held the SQLite write lock too long; retry, "
                "raise busy_timeout, or use PostgreSQL for many writers"
            )
        return (
            f"check that {self.url!r} is a writable SQLite file, or point "
            "PYSETL_HISTORY_URL (or --history) at another store"
        )

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the path and options; the engine is rebuilt on use."""
        return {**super().__getstate__(), "busy_timeout": self.busy_timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild the store from its path and options, lazily."""
        SqliteRunHistory.__init__(
            self,
            state["url"],
            busy_timeout=state["busy_timeout"],
            engine_options=state["engine_options"],
            migrate=False,
        )


def _file_url(path: Path) -> sa.URL:
    return sa.URL.create("sqlite", database=str(path))
