"""``SqliteRunHistory``: the default run history, one SQLite file per project.

Every connection runs in WAL mode (readers never block the writer, and a
commit is atomic even if the process is killed), with ``synchronous=NORMAL``
(durable at each checkpoint; safe against process crashes) and a busy
timeout, so many processes can write one file at once. Write transactions
start with ``BEGIN IMMEDIATE``: a writer takes the lock up front and waits
for it, instead of failing when it upgrades a read lock.

A new history file is created readable and writable by its owner only
(``0600``): log lines and errors can hold what other users should not
read. With ``create=False`` (the read-only commands) nothing is created: no
folder, no file (SQLite opens it with ``mode=rw``), no table, and the
journal mode of the file is left as it is.

Added in 0.2.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import sqlalchemy as sa

from pysetl.errors import RunHistoryError
from pysetl.monitoring.history._sql import SqlRunHistory
from pysetl.monitoring.history._sql_rows import parse_url

if TYPE_CHECKING:
    from collections.abc import Hashable, Iterator, Mapping

_LOGGER = logging.getLogger("pysetl.monitoring.history")

__all__ = ["SqliteRunHistory", "history_file"]

_WRITE = "pysetl_write"


def _enter_wal(cursor: Any, timeout: float) -> None:
    """Put the file in WAL mode, waiting up to ``timeout`` seconds for it.

    Switching a file to WAL needs it to itself, and SQLite reports a
    conflict at once ("database is locked") without calling the busy
    handler: when several processes (or threads) open a new file together,
    all but one would fail. A file already in WAL mode is left alone; a
    locked switch is retried with a short, growing pause until the busy
    timeout.
    """
    deadline = time.monotonic() + timeout
    pause = 0.001
    while not _try_wal(cursor, deadline):
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _try_wal(cursor: Any, deadline: float) -> bool:
    """Switch to WAL once; False if the file was locked before ``deadline``."""
    try:
        (mode,) = cursor.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() != "wal":
            cursor.execute("PRAGMA journal_mode = WAL")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) or time.monotonic() >= deadline:
            raise
        return False
    return True


class SqliteRunHistory(SqlRunHistory):
    """A run history in one SQLite file (created with its folder if missing).

    Changed in 0.5: a new file is created with mode ``0600``; ``create``.

    Args:
        path: The database file, or a ``sqlite:///...`` URL.
        busy_timeout: Seconds a writer waits for the lock before failing.
        engine_options: Extra keyword arguments for ``sqlalchemy.create_engine``.
        migrate: Create or migrate the schema now (``False``: on first use).
        create: Create the folder, the file and the schema when missing
            (``False``: open an existing, current pysetl history only).

    Raises:
        RunHistoryError: The folder or file cannot be created; with
            ``create=False``, there is no history file at ``path``.

    Examples:
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
        create: bool = True,
    ) -> None:
        """Create the folder and the file (owner only), then open the store."""
        text = str(path)
        url = parse_url(text) if "://" in text else _file_url(Path(text))
        shown = url
        file = _plain_file(url)
        if file is not None:
            if create:
                _create_file(file, text)
            else:
                url = _existing_file_url(file, url, text)
        self.busy_timeout = busy_timeout
        super().__init__(
            url, engine_options=engine_options, migrate=False, create=create
        )
        self.url = shown.render_as_string(hide_password=True)
        self._shown = shown
        if migrate:
            self._open_or_close()

    def _create_engine(self, url: sa.URL, options: dict[str, Any]) -> sa.Engine:
        connect_args = {"timeout": self.busy_timeout, **options.pop("connect_args", {})}
        engine = sa.create_engine(url, connect_args=connect_args, **options)
        busy_ms = int(self.busy_timeout * 1000)

        create = self.create

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # We emit BEGIN ourselves (below), so the driver must not.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
                if create:  # a reader leaves the file's journal mode alone
                    _enter_wal(cursor, busy_ms / 1000)
                cursor.execute("PRAGMA synchronous = NORMAL")
            finally:
                cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            write = conn.get_execution_options().get(_WRITE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine

    def _share_key(self) -> Hashable | None:
        """A file store shares its engine with the process's other stores of the file.

        Their settings must agree (the timeout, creating, the engine
        options); memory and ``file:`` URI databases are never shared.
        """
        if _plain_file(self._url) is None:
            return None
        return (
            type(self),
            self._url.render_as_string(hide_password=False),
            self.busy_timeout,
            self.create,
            repr(sorted(self._engine_options.items())),
        )

    def _identity(self) -> Any:
        """The file's device and inode (``None``: no file)."""
        file = _plain_file(self._url)
        try:
            found = file.stat() if file is not None else None
        except OSError:
            return None
        return None if found is None else (found.st_dev, found.st_ino)

    def _when_idle(self, engine: sa.Engine) -> None:
        """Checkpoint the write-ahead log into the file, as closing would have.

        A copy of the file alone then holds every run, and the log does not
        grow between sessions. A checkpoint that fails (another process
        writes) is left to SQLite's next one.
        """
        try:
            raw = engine.raw_connection()
            try:
                raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()
        except Exception:  # tidying only: never raised
            _LOGGER.debug("pysetl: checkpointing the run history failed", exc_info=True)

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
        return {
            **super().__getstate__(),
            "url": self._shown.render_as_string(hide_password=False),
            "busy_timeout": self.busy_timeout,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild the store from its path and options, lazily."""
        SqliteRunHistory.__init__(
            self,
            state["url"],
            busy_timeout=state["busy_timeout"],
            engine_options=state["engine_options"],
            migrate=False,
            create=state.get("create", True),
        )


def _file_url(path: Path) -> sa.URL:
    return sa.URL.create("sqlite", database=str(path))


def history_file(path: str | os.PathLike[str]) -> Path | None:
    """The file a SQLite history path or URL names (``None``: memory, ``file:`` URI)."""
    text = str(path)
    return _plain_file(parse_url(text) if "://" in text else _file_url(Path(text)))


def _plain_file(url: sa.URL) -> Path | None:
    """The file of a SQLite URL, ``None`` for memory and ``file:`` URI databases."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _create_file(file: Path, text: str) -> None:
    """Create ``file`` (mode 0600) and its folder when missing."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"Cannot create the folder of the run history {text!r}: {exc}"
        raise RunHistoryError(
            msg, hint="point PYSETL_HISTORY_URL (or --history) elsewhere"
        ) from exc
    if file.exists():
        return
    # SQLite would create it with the umask's mode (often world-readable);
    # an empty file is an empty database, and its -wal and -shm files take
    # the file's mode.
    try:
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:  # another process created it meanwhile
        return
    except OSError as exc:
        msg = f"Cannot create the run history file {text!r}: {exc}"
        raise RunHistoryError(
            msg, hint="point PYSETL_HISTORY_URL (or --history) elsewhere"
        ) from exc


def _existing_file_url(file: Path, url: sa.URL, text: str) -> sa.URL:
    """A URL that opens ``file`` only if it exists (SQLite's ``mode=rw``)."""
    if not file.is_file():
        what = "a folder, not a file" if file.is_dir() else "missing"
        msg = f"No run history at {text!r}: it is {what}"
        raise RunHistoryError(
            msg,
            hint=(
                "run a pipeline first (it creates the history), or point "
                "--history (or PYSETL_HISTORY_URL) at an existing one"
            ),
        )
    query = {**url.query, "mode": "rw", "uri": "true"}
    return url.set(database=f"file:{quote(str(file))}", query=query)
