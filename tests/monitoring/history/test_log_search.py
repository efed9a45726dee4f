"""The log search through the full-text indexes (migration 7), on real stores.

SQLite: the FTS5 trigram table, kept by triggers; PostgreSQL: the pg_trgm
GIN index. Answers must be those of a plain scan (compared with Python's own
filter over the same lines), and the query plan must use the index.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from pysetl.monitoring.history import AddLog, PostgresRunHistory, SqliteRunHistory
from pysetl.monitoring.history import _schema as s
from pysetl.monitoring.history._log_search import with_text

T0 = 1_700_000_000.0
RUN, OTHER = "01SEARCH00000000000000000A", "01SEARCH00000000000000000B"
MESSAGES = [
    "loaded 120 rows from orders",
    "Needle in the LOGS",
    "a needle again, in another case",
    "100% done_now",
    'quoted "needle" here',
    "café au lait: naïve",
    "short",
    "rows rows rows",
]
TEXTS = [
    "needle",
    "NEEDLE",
    "rows",
    "100%",
    "done_n",
    '"needle"',
    "café",
    "e_n",
    "ro",
    "x",
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    """A current store of each SQL kind, with lines in two runs."""
    if request.param == "sqlite":
        history = SqliteRunHistory(tmp_path / "h.db")
    else:
        history = PostgresRunHistory(request.getfixturevalue("pg_url"))
    lines = []
    for n in range(60):  # the run's lines are interleaved with another run's
        for rid in (RUN, OTHER):
            text = MESSAGES[n % len(MESSAGES)]
            lines.append(AddLog(T0 + n, "INFO", f"{n}: {text}", rid, factory="F"))
    history.add_logs(lines)
    yield history
    history.close()


def expected(history, text, run_id=RUN):
    """What a scan answers: every line of the run holding ``text`` (ASCII case)."""
    everything = history.search_logs(run_id, limit=1000).items
    return [r.id for r in everything if text.lower() in r.message.lower()]


def paged(history, text, limit=7, run_id=RUN):
    ids, cursor = [], None
    while True:
        page = history.search_logs(run_id, text=text, limit=limit, cursor=cursor)
        ids += [r.id for r in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return ids


class TestAnswers:
    def test_the_index_answers_what_a_scan_does(self, store):
        for text in TEXTS:
            want = expected(store, text)
            assert paged(store, text) == want, text
            assert paged(store, text, limit=1000) == want, text
        assert expected(store, "needle")  # the texts are found, not all empty

    def test_a_search_of_every_run_and_of_one_factory(self, store):
        both = [r.id for r in store.search_logs(None, text="needle", limit=1000).items]
        assert len(both) == 2 * len(expected(store, "needle"))
        assert store.search_logs(RUN, text="needle", factory="G").items == ()

    def test_deleted_and_new_lines_are_seen_by_the_index(self, store):
        before = len(expected(store, "haystack"))
        store.add_logs([AddLog(T0 + 99, "ERROR", "a HAYSTACK appeared", RUN)])
        assert len(paged(store, "haystack")) == before + 1 == 1
        store.start_run(RUN, "p", started_at=T0)
        store.finish_run(RUN, "succeeded", finished_at=T0 + 100)
        assert store.prune(timedelta(days=1), now=T0 + 10 * 86400) == 1
        assert paged(store, "haystack") == []
        assert store.search_logs(None, text="haystack").items == ()


class TestIndexes:
    def test_sqlite_searches_walk_the_trigram_table(self, tmp_path):
        history = SqliteRunHistory(tmp_path / "h.db")
        query = with_text(
            sa.select(s.LOGS).where(s.LOGS.c.run_id == RUN).order_by(s.LOGS.c.id),
            "needle",
            run_id=RUN,
            after=None,
            fts=lambda: True,
        )
        with history.engine.connect() as conn:
            sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
            plan = " ".join(
                str(row[-1])
                for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)
            )
        assert f"SCAN {s.LOGS_FTS} VIRTUAL TABLE" in plan
        assert "INTEGER PRIMARY KEY" in plan  # each match read by its id
        history.close()

    @pytest.mark.postgres
    def test_postgres_has_a_trigram_index_the_search_can_use(self, pg_url):
        history = PostgresRunHistory(pg_url)
        history.add_logs([AddLog(T0, "INFO", f"line {n}", RUN) for n in range(50)])
        with history.engine.connect() as conn:
            names = {i["name"] for i in sa.inspect(conn).get_indexes(s.LOGS.name)}
            assert s.LOGS_TRIGRAM_INDEX in names
            conn.exec_driver_sql("SET enable_seqscan = off")
            explain = conn.execute(
                sa.text("EXPLAIN SELECT id FROM pysetl_logs WHERE message ILIKE :p"),
                {"p": "%needle%"},
            )
            plan = " ".join(row[0] for row in explain)
        assert s.LOGS_TRIGRAM_INDEX in plan
        history.close()


class TestMigration:
    def test_a_version_6_store_indexes_the_lines_it_already_has(self, tmp_path):
        path = tmp_path / "h.db"
        old = SqliteRunHistory(path, migrate=False)
        assert old.migrate(target=6) == 6
        old.add_logs([AddLog(T0, "INFO", f"old line {n}", RUN) for n in range(30)])
        old.add_logs([AddLog(T0, "INFO", "the old needle", RUN)])
        old.close()
        store = SqliteRunHistory(path)
        assert store.schema_version == s.LATEST_VERSION >= 7
        with store.engine.connect() as conn:
            count = conn.exec_driver_sql(
                "SELECT count(*) FROM pysetl_logs_fts "
                "WHERE pysetl_logs_fts MATCH 'needle'"
            ).scalar()
        assert count == 1
        assert [r.message for r in store.search_logs(RUN, text="NEEDLE").items] == [
            "the old needle"
        ]
        store.close()

    def test_without_fts5_the_migration_goes_on_and_searches_scan(
        self, tmp_path, monkeypatch, caplog
    ):
        # A SQLite without the trigram tokenizer refuses the table as this does.
        broken = (
            "CREATE VIRTUAL TABLE pysetl_logs_fts USING fts5(m, tokenize='none')",
        )
        monkeypatch.setattr(s, "_SQLITE_FTS", broken)
        with caplog.at_level(logging.WARNING):
            history = SqliteRunHistory(tmp_path / "h.db")
        assert "no full-text log search" in caplog.text
        assert history.schema_version == s.LATEST_VERSION
        history.add_logs([AddLog(T0, "INFO", "a needle", RUN)])
        assert len(history.search_logs(RUN, text="needle").items) == 1
        history.close()

    @pytest.mark.postgres
    def test_without_pg_trgm_the_migration_goes_on_and_searches_scan(
        self, pg_url, monkeypatch, caplog
    ):
        missing = ("CREATE EXTENSION IF NOT EXISTS pysetl_no_such_extension",)
        monkeypatch.setattr(s, "_PG_TRGM", missing)
        with caplog.at_level(logging.WARNING):
            history = PostgresRunHistory(pg_url)
            history.add_logs([AddLog(T0, "INFO", "a needle", RUN)])
        assert "no trigram index of log lines" in caplog.text
        with history.engine.connect() as conn:
            names = {i["name"] for i in sa.inspect(conn).get_indexes(s.LOGS.name)}
        assert s.LOGS_TRIGRAM_INDEX not in names
        assert len(history.search_logs(RUN, text="needle").items) == 1
        history.close()
