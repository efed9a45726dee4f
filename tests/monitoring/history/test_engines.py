"""SQLite stores of one file share their engine within a process."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from pysetl.errors import RunHistoryError
from pysetl.monitoring.history import SqliteRunHistory
from pysetl.monitoring.history._engines import SHARED_ENGINES, SharedEngines


class TestSharing:
    def test_stores_of_one_file_share_the_engine_across_sessions(self, tmp_path):
        path = tmp_path / "h.db"
        first = SqliteRunHistory(path)
        engine = first.engine
        first.start_run("01A", "p")
        first.close()
        second = SqliteRunHistory(path)  # the next session's store
        assert second.engine is engine
        assert second.get_run("01A") is not None
        third = SqliteRunHistory(path, busy_timeout=1.0)  # other settings
        assert third.engine is not engine
        for store in (second, third):
            store.close()

    def test_closing_the_last_user_checkpoints_the_log(self, tmp_path):
        # As closing the last connection did: a copy of the file alone holds
        # every run, and the log does not grow between sessions.
        path = tmp_path / "h.db"
        store = SqliteRunHistory(path)
        store.start_run("01A", "p")
        store.close()
        wal = path.with_name("h.db-wal")
        assert not wal.exists() or wal.stat().st_size == 0
        copy = tmp_path / "copy.db"
        copy.write_bytes(path.read_bytes())
        with sqlite3.connect(copy) as conn:
            found = conn.execute("SELECT run_id FROM pysetl_runs").fetchall()
        assert found == [("01A",)]

    def test_a_replaced_file_gets_a_new_engine(self, tmp_path):
        path = tmp_path / "h.db"
        store = SqliteRunHistory(path)
        store.start_run("01A", "p")
        engine = store.engine
        store.close()
        for name in ("h.db", "h.db-wal", "h.db-shm"):
            (tmp_path / name).unlink(missing_ok=True)
        fresh = SqliteRunHistory(path)  # a new, empty file at the same path
        assert fresh.engine is not engine
        with pytest.raises(RunHistoryError, match="No run"):
            fresh.get_run("01A")
        fresh.start_run("01B", "p")
        fresh.close()
        with sqlite3.connect(path) as conn:
            found = conn.execute("SELECT run_id FROM pysetl_runs").fetchall()
        assert found == [("01B",)]

    def test_memory_stores_are_never_shared(self):
        one, two = SqliteRunHistory("sqlite://"), SqliteRunHistory("sqlite://")
        assert one.engine is not two.engine
        one.start_run("01A", "p")
        with pytest.raises(RunHistoryError, match="No run"):
            two.get_run("01A")
        one.close()
        two.close()

    def test_a_store_used_after_close_takes_the_engine_again(self, tmp_path):
        store = SqliteRunHistory(tmp_path / "h.db")
        store.close()
        store.start_run("01A", "p")  # reconnects on next use
        assert store.get_run("01A") is not None
        store.close()


class TestBounds:
    def test_only_so_many_unused_engines_stay_open(self, tmp_path):
        engines = SharedEngines(idle=2)
        made = []

        def make():
            import sqlalchemy as sa

            engine = sa.create_engine("sqlite://")
            made.append(engine)
            return engine

        entries = [engines.acquire(f"db{i}", None, make) for i in range(4)]
        assert len(engines) == 4
        assert [engines.release(entry) for entry in entries] == [True] * 4
        assert len(engines) == 2  # the two used last
        again = engines.acquire("db3", None, make)
        assert again is entries[3]
        stale = engines.acquire("db3", "another file", make)
        assert stale is not again
        assert engines.release(again) is False  # stale: closed, not kept
        assert engines.release(stale) is True

    def test_a_forked_child_makes_its_own_engines(self, tmp_path):
        path = tmp_path / "h.db"
        store = SqliteRunHistory(path)
        store.start_run("01A", "p")
        store.close()
        assert len(SHARED_ENGINES) >= 1
        code = (
            "import os, sys\n"
            "from pysetl.monitoring.history import SqliteRunHistory\n"
            "from pysetl.monitoring.history._engines import SHARED_ENGINES\n"
            f"store = SqliteRunHistory({str(path)!r})\n"
            "parent = store.engine\n"
            "store.close()\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    child = SqliteRunHistory(store._url.database)\n"
            "    ok = child.engine is not parent and child.get_run('01A') is not None\n"
            "    os._exit(0 if ok else 3)\n"
            "_, status = os.waitpid(pid, 0)\n"
            "sys.exit(os.waitstatus_to_exitcode(status))\n"
        )
        done = subprocess.run(  # noqa: S603 - our interpreter, our code
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "PYSETL_OBSERVE": "0"},
        )
        assert done.returncode == 0, done.stderr
