"""Schema versions and migrations, on real SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from pysetl.errors import RunHistoryError
from pysetl.monitoring.history import (
    LATEST_VERSION,
    AddLog,
    PostgresRunHistory,
    SqliteRunHistory,
)
from pysetl.monitoring.history import _schema as s


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def make_store(request, tmp_path):
    """A function opening a new store object on the same database each call."""
    if request.param == "sqlite":
        path = tmp_path / "history.db"
        stores = []

        def make(**kwargs):
            stores.append(SqliteRunHistory(path, **kwargs))
            return stores[-1]

    else:
        url = request.getfixturevalue("pg_url")
        stores = []

        def make(**kwargs):
            stores.append(PostgresRunHistory(url, **kwargs))
            return stores[-1]

    yield make
    for store in stores:
        store.close()


class TestMigrations:
    def test_the_migrations_are_numbered_in_order(self):
        assert [m.version for m in s.MIGRATIONS] == list(range(1, LATEST_VERSION + 1))

    def test_a_version_1_store_is_migrated_and_keeps_its_data(self, make_store):
        old = make_store(migrate=False)
        assert old.migrate(target=1) == 1
        with old.engine.begin() as conn:
            assert s.current_version(conn) == 1
            columns = {c["name"] for c in sa.inspect(conn).get_columns(s.RUNS.name)}
            assert "config_version" not in columns
            conn.execute(
                sa.text(
                    "INSERT INTO pysetl_runs (run_id, pipeline, status, started_at)"
                    " VALUES ('01OLD', 'legacy', 'succeeded', 1.0)"
                )
            )
        old.close()
        store = make_store()
        assert store.schema_version == LATEST_VERSION
        run = store.get_run("01OLD")
        assert run.pipeline == "legacy"
        assert run.config_version is None
        store.add_logs([AddLog(2.0, "INFO", "new table works", "01OLD")])
        assert len(store.search_logs("01OLD").items) == 1

    def test_a_version_2_store_gets_the_cross_run_indexes(self, make_store):
        old = make_store(migrate=False)
        assert old.migrate(target=2) == 2
        old.close()
        store = make_store()
        with store.engine.connect() as conn:
            inspector = sa.inspect(conn)
            found = {
                index["name"]
                for table in (s.ATTEMPTS, s.METRICS, s.RUNS)
                for index in inspector.get_indexes(table.name)
            }
        assert {index.name for index in s.CROSS_RUN_INDEXES} <= found

    def test_migrating_again_changes_nothing(self, make_store):
        store = make_store()
        assert store.migrate() == LATEST_VERSION
        with store.engine.connect() as conn:
            count = conn.execute(
                sa.select(sa.func.count()).select_from(s.SCHEMA_VERSION)
            ).scalar()
        assert count == LATEST_VERSION

    def test_a_newer_schema_is_refused_with_a_hint(self, make_store):
        store = make_store()
        with store.engine.begin() as conn:
            conn.execute(
                s.SCHEMA_VERSION.insert().values(
                    version=LATEST_VERSION + 1, description="future", applied_at=0
                )
            )
        store.close()
        with pytest.raises(RunHistoryError, match="schema version") as info:
            make_store(migrate=False).migrate()
        assert info.value.hint == "upgrade pysetl to read this history"

    def test_a_newer_schema_is_refused_when_the_store_opens(self, make_store):
        """Before: the store opened, read and wrote it as if it were current."""
        store = make_store()
        with store.engine.begin() as conn:
            conn.execute(
                s.SCHEMA_VERSION.insert().values(
                    version=LATEST_VERSION + 1, description="future", applied_at=0
                )
            )
        store.close()
        with pytest.raises(RunHistoryError, match="has schema version") as info:
            make_store()
        assert info.value.hint == "upgrade pysetl to read this history"
        lazy = make_store(migrate=False)
        with pytest.raises(RunHistoryError, match="has schema version"):
            lazy.list_runs()
        with pytest.raises(RunHistoryError, match="has schema version"):
            lazy.start_run("01A", "p")
        with pytest.raises(RunHistoryError, match="has schema version"):
            make_store(create=False)

    def test_a_lazy_store_migrates_on_first_use(self, make_store):
        store = make_store(migrate=False)
        assert store.list_runs().items == ()
        assert store.schema_version == LATEST_VERSION

    def test_concurrent_openers_do_not_race(self, make_store):
        """Eight threads, each with its own engine, open one fresh database."""
        errors: list[BaseException] = []
        barrier = threading.Barrier(8)

        def open_one():
            try:
                store = make_store(migrate=False)
                barrier.wait()
                store.start_run(f"01R{threading.get_ident()}", "p")
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=open_one) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(make_store().list_runs().items) == 8


class TestConfigTables:
    def test_a_version_3_store_gets_the_config_tables_and_keeps_its_versions(
        self, make_store
    ):
        old = make_store(migrate=False)
        assert old.migrate(target=3) == 3
        with old.engine.begin() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            assert s.CONFIG_VERSIONS.name in tables
            assert s.CONFIG_ENV_VERSIONS.name not in tables
            assert s.CONFIG_AUDIT.name not in tables
            conn.execute(
                s.CONFIG_VERSIONS.insert().values(
                    hash="ab" * 32, created_at=1.0, content="{}"
                )
            )
        old.close()
        store = make_store()
        assert store.schema_version == LATEST_VERSION >= 4
        with store.engine.begin() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            assert {s.CONFIG_ENV_VERSIONS.name, s.CONFIG_AUDIT.name} <= tables
            kept = conn.execute(sa.select(s.CONFIG_VERSIONS.c.hash)).scalars().all()
            assert kept == ["ab" * 32]
            conn.execute(
                s.CONFIG_AUDIT.insert().values(
                    ts=2.0, env="prod", action="rollback", changes=[]
                )
            )

    def test_migration_2_creates_the_config_versions_table_it_always_did(
        self, make_store
    ):
        old = make_store(migrate=False)
        assert old.migrate(target=2) == 2
        with old.engine.connect() as conn:
            columns = [
                c["name"] for c in sa.inspect(conn).get_columns(s.CONFIG_VERSIONS.name)
            ]
        assert columns == ["hash", "created_at", "content"]

    def test_a_version_5_store_gets_resumed_from_and_the_host_index(self, make_store):
        old = make_store(migrate=False)
        assert old.migrate(target=5) == 5
        with old.engine.begin() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns(s.RUNS.name)}
            assert "resumed_from" not in columns
            conn.execute(
                sa.text(
                    "INSERT INTO pysetl_runs (run_id, pipeline, status, started_at,"
                    " host) VALUES ('01OLD', 'legacy', 'failed', 1.0, 'h1')"
                )
            )
        old.close()
        store = make_store()
        assert store.schema_version == LATEST_VERSION >= 6
        with store.engine.connect() as conn:
            indexes = {i["name"] for i in sa.inspect(conn).get_indexes(s.RUNS.name)}
        assert "ix_pysetl_runs_host" in indexes
        assert store.get_run("01OLD").resumed_from is None
        store.start_run("01NEW", "legacy", started_at=2.0, resumed_from="01OLD")
        assert store.get_run("01NEW").resumed_from == "01OLD"
        assert store.get_run("01OLD").host == "h1"
