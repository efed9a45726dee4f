"""What is specific to each store: SQLite settings, PostgreSQL errors, URLs."""

from __future__ import annotations

import os
import pickle
import sqlite3
import threading
import time
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from pysetl.errors import RunHistoryError
from pysetl.monitoring.history import (
    HISTORY_URL_ENV,
    InMemoryRunHistory,
    PostgresRunHistory,
    SqliteRunHistory,
    SqlRunHistory,
    default_history_path,
    find_project_dir,
    open_history,
    redact_url,
)


class TestOpenWithoutCreate:
    """``create=False``: what the read-only commands open; nothing is written."""

    def test_opens_an_existing_current_history(self, tmp_path):
        path = tmp_path / "h.db"
        SqliteRunHistory(path).start_run("01A", "p")
        store = SqliteRunHistory(path, create=False)
        assert store.get_run("01A").pipeline == "p"
        assert store.url == f"sqlite:///{path}"
        copy = pickle.loads(pickle.dumps(store))  # noqa: S301 - our own bytes
        assert copy.create is False
        assert copy.get_run("01A").pipeline == "p"
        store.close()
        copy.close()

    def test_a_missing_file_is_an_error_and_is_not_created(self, tmp_path):
        path = tmp_path / "sub" / "h.db"
        with pytest.raises(RunHistoryError, match="No run history at") as info:
            SqliteRunHistory(path, create=False)
        assert "run a pipeline first" in info.value.hint
        assert not (tmp_path / "sub").exists()

    def test_a_folder_is_named_as_one(self, tmp_path):
        with pytest.raises(RunHistoryError, match="a folder, not a file"):
            SqliteRunHistory(tmp_path, create=False)

    def test_another_applications_database_gets_no_table(self, tmp_path):
        path = tmp_path / "app.db"
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE orders (id INTEGER)")
        with pytest.raises(RunHistoryError, match="holds no pysetl run history"):
            SqliteRunHistory(path, create=False)
        with sqlite3.connect(path) as conn:
            names = conn.execute("SELECT name FROM sqlite_master").fetchall()
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        assert names == [("orders",)]
        assert mode == "delete"

    def test_an_older_history_is_refused_with_a_hint(self, tmp_path):
        path = tmp_path / "h.db"
        SqliteRunHistory(path, migrate=False).migrate(target=1)
        with pytest.raises(RunHistoryError, match="older schema version 1") as info:
            SqliteRunHistory(path, create=False)
        assert "upgrade" in info.value.hint

    @pytest.mark.postgres
    def test_postgres_gets_no_table(self, pg_url):
        with pytest.raises(RunHistoryError, match="holds no pysetl run history"):
            PostgresRunHistory(pg_url, create=False)
        engine = sa.create_engine(pg_url.replace("postgresql+psycopg", "postgresql"))
        with engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []
        engine.dispose()

    def test_memory_and_uri_databases_are_opened_as_they_are(self, tmp_path):
        path = tmp_path / "h.db"
        SqliteRunHistory(path).start_run("01A", "p")
        uri = SqliteRunHistory(f"sqlite:///file:{path}?mode=ro&uri=true", create=False)
        assert uri.get_run("01A").pipeline == "p"
        uri.close()
        with pytest.raises(RunHistoryError, match="holds no pysetl run history"):
            SqliteRunHistory("sqlite://", create=False)

    def test_open_history_of_a_missing_file_is_empty_and_creates_nothing(
        self, tmp_path
    ):
        path = tmp_path / ".pysetl" / "history.db"
        store = open_history(str(path), create=False)
        assert store.list_runs().items == ()
        assert store.url == f"sqlite:///{path}"
        assert not path.parent.exists()
        default = open_history(project_dir=tmp_path, create=False)
        assert default.list_runs().items == ()
        assert not path.parent.exists()


class TestSqlite:
    def test_runs_in_wal_mode_with_a_busy_timeout(self, tmp_path):
        store = SqliteRunHistory(tmp_path / "h.db", busy_timeout=2.5)
        with store.engine.connect() as conn:
            pragma = conn.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert pragma("PRAGMA busy_timeout").scalar() == 2500
        store.close()

    def test_creates_the_folder_and_accepts_a_url(self, tmp_path):
        path = tmp_path / "deep" / "er" / "h.db"
        SqliteRunHistory(f"sqlite:///{path}").close()
        assert path.exists()

    def test_pickles_to_its_path_and_reconnects(self, tmp_path):
        store = SqliteRunHistory(tmp_path / "h.db", busy_timeout=3)
        store.start_run("01A", "p")
        copy = pickle.loads(pickle.dumps(store))  # noqa: S301 - our own bytes
        assert copy.busy_timeout == 3
        assert copy.get_run("01A").pipeline == "p"
        store.close()
        copy.close()

    def test_an_unwritable_folder_is_a_history_error(self, tmp_path):
        blocker = tmp_path / "file"
        blocker.write_text("")
        with pytest.raises(RunHistoryError, match="Cannot create the folder"):
            SqliteRunHistory(blocker / "sub" / "h.db")

    def test_a_folder_is_not_a_database(self, tmp_path):
        with pytest.raises(RunHistoryError, match="Cannot open") as info:
            SqliteRunHistory(tmp_path)
        assert "writable SQLite file" in info.value.hint

    def test_a_new_file_is_readable_by_its_owner_only(self, tmp_path):
        """Before: the file took the umask's mode (0644: anyone could read logs)."""
        path = tmp_path / "h.db"
        store = SqliteRunHistory(path)
        store.start_run("01A", "p")
        for name in ("h.db", "h.db-wal", "h.db-shm"):
            assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
        store.close()

    def test_a_file_that_cannot_be_created_is_a_history_error(self):
        """Under /proc no file can be created, not even by root."""
        with pytest.raises(RunHistoryError, match="Cannot create the run history"):
            SqliteRunHistory("/proc/self/pysetl-history.db")

    def test_a_file_created_meanwhile_is_opened(self, tmp_path):
        """A dangling link: missing to ``exists()``, taken to ``O_EXCL``."""
        target = tmp_path / "real.db"
        link = tmp_path / "h.db"
        link.symlink_to(target)
        SqliteRunHistory(link).close()
        assert target.exists()

    def test_an_existing_files_mode_is_left_alone(self, tmp_path):
        path = tmp_path / "h.db"
        path.touch(mode=0o640)
        path.chmod(0o640)
        SqliteRunHistory(path).close()
        assert path.stat().st_mode & 0o777 == 0o640

    def test_a_held_lock_says_so(self, tmp_path):
        path = tmp_path / "h.db"
        store = SqliteRunHistory(path, busy_timeout=0.05)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(RunHistoryError, match="locked") as info:
                store.start_run("01A", "p")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
            store.close()
        assert "write lock" in info.value.hint

    def test_a_new_file_waits_for_its_switch_to_wal(self, tmp_path):
        """SQLite refuses the switch at once while the file is held.

        Before: eight threads opening one new file failed now and then with
        "database is locked" from ``PRAGMA journal_mode = WAL`` (CI, stop 22).
        """
        path = tmp_path / "h.db"
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN EXCLUSIVE")  # a new file, in rollback mode, held
        release = threading.Timer(0.3, lambda: holder.execute("ROLLBACK"))
        release.start()
        try:
            started = time.monotonic()
            store = SqliteRunHistory(path, busy_timeout=5)
            waited = time.monotonic() - started
        finally:
            release.join()
            holder.close()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        store.close()
        assert 0.2 < waited < 5

    def test_a_switch_to_wal_held_off_too_long_says_so(self, tmp_path):
        path = tmp_path / "h.db"
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(RunHistoryError, match="locked") as info:
                SqliteRunHistory(path, busy_timeout=0.1)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert "write lock" in info.value.hint

    def test_readers_do_not_wait_for_a_writer(self, tmp_path):
        path = tmp_path / "h.db"
        store = SqliteRunHistory(path, busy_timeout=0.05)
        store.start_run("01A", "p")
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            assert store.get_run("01A").pipeline == "p"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
            store.close()


@pytest.mark.postgres
class TestStatementsCompiledOnce:
    def test_a_new_store_writes_attempts_without_compiling_again(
        self, tmp_path, monkeypatch
    ):
        # A Session opens a new store (and engine) per run; the writes' SQL is
        # compiled once a process per dialect, not once an engine.
        from sqlalchemy.sql import compiler

        from pysetl.monitoring.history import _sql_writes
        from pysetl.monitoring.history.ops import FinishAttempt, StartAttempt

        monkeypatch.setattr(_sql_writes, "_COMPILED", {})  # as in a new process
        compiled: list[str] = []
        original = compiler.SQLCompiler.__init__

        def counting(self, dialect, statement, *args, **kwargs):
            compiled.append(type(statement).__name__)
            original(self, dialect, statement, *args, **kwargs)

        def run(path, rid):
            store = SqliteRunHistory(path)
            store.start_run(rid, "p", started_at=1.0)
            compiled.clear()
            with monkeypatch.context() as patch:
                patch.setattr(compiler.SQLCompiler, "__init__", counting)
                store.apply([StartAttempt(rid, 0, "Load", 1, 1.0)])
                store.apply([FinishAttempt(rid, 0, "Load", 1, "succeeded", 2.0, 1.0)])
                # a finish whose start was lost: an insert of the whole row
                store.apply([FinishAttempt(rid, 1, "Gone", 1, "failed", 3.0, 1.0)])
            attempts = store.list_factory_attempts(rid).items
            store.close()
            return attempts

        run(tmp_path / "a.db", "01A")
        assert compiled  # the first store compiles them
        attempts = run(tmp_path / "b.db", "01B")
        assert [(a.factory, a.status) for a in attempts] == [
            ("Load", "succeeded"),
            ("Gone", "failed"),
        ]
        assert compiled == []


class TestPostgres:
    def test_a_wrong_password_never_shows_the_password(self, postgres):
        canary = "canary-pw-7f3e9d"
        url = (
            f"postgresql://{postgres.user}:{canary}@{postgres.host}:{postgres.port}"
            f"/{postgres.database}"
        )
        with pytest.raises(RunHistoryError) as info:
            PostgresRunHistory(url)
        error = info.value
        assert canary not in str(error)
        assert canary not in repr(error)
        assert canary not in str(error.__cause__)
        assert "***" in str(error)
        assert "password" in error.hint

    def test_the_real_password_is_hidden_in_repr_and_errors(self, pg_url, postgres):
        store = PostgresRunHistory(pg_url)
        assert postgres.password not in repr(store)
        assert postgres.password not in store.url
        with store.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE pysetl_runs"))
        with pytest.raises(RunHistoryError, match="Cannot read from") as info:
            store.list_runs()
        assert postgres.password not in str(info.value)
        store.close()

    def test_an_unreachable_server_has_a_hint(self):
        with pytest.raises(RunHistoryError) as info:
            PostgresRunHistory("postgresql://u:pw@127.0.0.1:1/db")
        assert "reachable" in info.value.hint

    def test_other_failures_get_the_generic_hint(self, pg_url):
        store = PostgresRunHistory(pg_url)
        with store.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE pysetl_logs"))
        with pytest.raises(RunHistoryError) as info:
            store.search_logs()
        assert "PYSETL_HISTORY_URL" in info.value.hint
        store.close()

    def test_pickles_and_reconnects(self, pg_url):
        store = PostgresRunHistory(pg_url)
        store.start_run("01A", "p")
        copy = pickle.loads(pickle.dumps(store))  # noqa: S301 - our own bytes
        assert copy.get_run("01A").pipeline == "p"
        store.close()
        copy.close()


class TestUrls:
    @pytest.mark.parametrize(
        ("url", "shown"),
        [
            ("postgresql://u:secret@h/db", "postgresql://u:***@h/db"),
            ("postgresql://u@h/db", "postgresql://u@h/db"),
            ("sqlite:///x.db", "sqlite:///x.db"),
            (
                "postgresql://u@h/db?password=canary-q&sslmode=require",
                "postgresql://u@h/db?password=**********&sslmode=require",
            ),
        ],
    )
    def test_redact_url(self, url, shown):
        assert redact_url(url) == shown

    def test_an_unparsable_url_is_a_history_error_without_its_password(self):
        with pytest.raises(RunHistoryError, match="Cannot parse") as info:
            SqlRunHistory("postgresql://u:canary-x@host:notaport/db")
        assert "canary-x" not in str(info.value)

    def test_an_unknown_dialect_is_a_history_error(self):
        with pytest.raises(RunHistoryError, match="nosuchdb"):
            open_history("nosuchdb://u:canary-y@h/db")


class TestOpenHistory:
    def test_the_default_is_the_project_sqlite_file(self, tmp_path, monkeypatch):
        monkeypatch.delenv(HISTORY_URL_ENV, raising=False)
        (tmp_path / "pyproject.toml").write_text("")
        work = tmp_path / "src" / "jobs"
        work.mkdir(parents=True)
        monkeypatch.chdir(work)
        store = open_history()
        assert isinstance(store, SqliteRunHistory)
        assert (tmp_path / ".pysetl" / "history.db").exists()
        store.close()

    def test_a_project_dir_can_be_given(self, tmp_path, monkeypatch):
        monkeypatch.delenv(HISTORY_URL_ENV, raising=False)
        (tmp_path / ".pysetl").mkdir()
        (tmp_path / "a").mkdir()
        store = open_history(project_dir=tmp_path / "a")
        assert store.url.endswith(str(tmp_path / ".pysetl" / "history.db"))
        store.close()

    def test_without_markers_the_start_folder_is_the_project(self, tmp_path):
        assert find_project_dir(tmp_path) in {tmp_path, *tmp_path.parents}
        assert default_history_path(tmp_path).name == "history.db"

    def test_the_environment_variable_wins_over_the_default(
        self, tmp_path, monkeypatch
    ):
        monkeypatch.setenv(HISTORY_URL_ENV, str(tmp_path / "env.db"))
        store = open_history()
        assert isinstance(store, SqliteRunHistory)
        assert (tmp_path / "env.db").exists()
        store.close()

    def test_the_argument_wins_over_the_environment(self, tmp_path, monkeypatch):
        monkeypatch.setenv(HISTORY_URL_ENV, str(tmp_path / "env.db"))
        assert isinstance(open_history("memory://"), InMemoryRunHistory)
        assert not (tmp_path / "env.db").exists()

    def test_a_sqlite_url(self, tmp_path):
        store = open_history(f"sqlite:///{tmp_path / 'u.db'}")
        assert isinstance(store, SqliteRunHistory)
        store.close()

    @pytest.mark.postgres
    def test_a_postgresql_url_uses_psycopg(self, postgres):
        url = (
            f"postgresql://{postgres.user}:{quote(postgres.password)}"
            f"@{postgres.host}:{postgres.port}/{postgres.database}"
        )
        store = open_history(url)
        assert isinstance(store, PostgresRunHistory)
        assert store.url.startswith("postgresql+psycopg://")
        store.close()

    def test_another_sqlalchemy_url_opens_a_generic_store(self, tmp_path):
        # A generic SqlRunHistory on SQLite: the URL does not start with "sqlite".
        url = sa.URL.create("sqlite", database=str(tmp_path / "g.db"))
        store = SqlRunHistory(url)
        store.start_run("01A", "p")
        assert store.get_run("01A").pipeline == "p"
        store.close()
        assert os.path.exists(tmp_path / "g.db")  # noqa: PTH110
