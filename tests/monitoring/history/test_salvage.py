"""Odd values cost their own row at most: NUL, lone surrogates, huge texts, duplicates.

Run over every store (memory, SQLite, PostgreSQL): a batch the database
rejects for some values is written apart, with text made storable; only a
row that still fails is dropped and counted.
"""

from __future__ import annotations

import logging

import pytest

from pysetl.monitoring.history import (
    AddEvent,
    AddLog,
    AddMetric,
    FinishRun,
    PostgresRunHistory,
    SqliteRunHistory,
    SqlRunHistory,
    StartRun,
)
from pysetl.monitoring.history._salvage import Rejections, clean, clean_item
from pysetl.monitoring.history.ops import MAX_TEXT, FinishAttempt, StartAttempt, cut
from pysetl.runtime import Session
from pysetl.workflow import Factory

NUL = "before\x00after"
SURROGATE = "bad \udcff byte"
REPLACED = {NUL: "before\ufffdafter", SURROGATE: "bad \ufffd byte"}
LOG = logging.getLogger("tests.history.salvage")


def _stored(text: str, found: str) -> bool:
    """Stored as it was (memory keeps any str) or with U+FFFD in place."""
    return found in {text, REPLACED.get(text, text)}


def _batch(run_id: str, *texts: str) -> list[object]:
    ops: list[object] = [StartRun(run_id, "p", 1.0)]
    ops += [AddLog(2.0 + i, "INFO", f"line {i}", run_id) for i in range(50)]
    ops += [AddLog(60.0 + i, "WARNING", text, run_id) for i, text in enumerate(texts)]
    ops += [AddLog(100.0 + i, "INFO", f"after {i}", run_id) for i in range(50)]
    return ops


class TestOddText:
    @pytest.mark.parametrize("text", [NUL, SURROGATE], ids=["nul", "surrogate"])
    def test_one_odd_log_line_costs_no_other_row(self, history, text):
        """Before: PostgreSQL (NUL) and SQLite (surrogate) lost the whole batch."""
        history.write_batch(_batch("01A", text))
        assert history.get_run("01A").pipeline == "p"
        lines = history.search_logs(run_id="01A", limit=200).items
        assert len(lines) == 101
        odd = [line.message for line in lines if line.level == "WARNING"]
        assert _stored(text, odd[0])

    def test_odd_text_everywhere_in_a_run(self, history):
        """Pipeline name, metric labels, event data, errors: all stored, cleaned."""
        ops = [
            StartRun("01B", f"pipe {NUL}", 1.0),
            AddMetric("01B", "rows", 1.0, 2.0, "F", {"k": NUL}),
            AddEvent("01B", 3.0, "custom", data={"note": SURROGATE}),
            StartAttempt("01B", 0, "F", 1, 2.0),
            FinishAttempt(
                "01B",
                0,
                "F",
                1,
                "failed",
                3.0,
                1.0,
                {"read": 1.0},
                "read",
                {"message": NUL},
            ),
            FinishRun("01B", "failed", 4.0, {"message": SURROGATE}),
        ]
        history.write_batch(ops)
        run = history.get_run("01B")
        assert run.pipeline in {f"pipe {NUL}", "pipe before\ufffdafter"}
        assert run.status == "failed"
        assert _stored(SURROGATE, run.error["message"])
        metric = history.list_metrics("01B").items[0]
        assert _stored(NUL, metric.labels["k"])
        event = history.list_events("01B", name="custom").items[0]
        assert _stored(SURROGATE, event.data["note"])
        attempt = history.list_factory_attempts("01B").items[0]
        assert attempt.status == "failed"
        assert _stored(NUL, attempt.error["message"])

    def test_a_huge_log_line_is_cut_with_a_marker(self, history):
        history.write_batch(_batch("01C", "x" * (MAX_TEXT + 10)))
        odd = history.search_logs(run_id="01C", level="WARNING").items[0].message
        assert odd.startswith("x" * MAX_TEXT)
        assert odd.endswith("[pysetl cut 10 characters]")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_history(request, tmp_path):
    """The stores with constraints of a SQL database."""
    if request.param == "sqlite":
        store: SqlRunHistory = SqliteRunHistory(tmp_path / "h.db")
    else:
        store = PostgresRunHistory(request.getfixturevalue("pg_url"))
    yield store
    store.close()


class TestRejectedRows:
    def test_a_duplicate_row_is_dropped_alone_and_counted(self, sql_history, caplog):
        """Before: the UNIQUE violation lost the whole batch (101 lines with it)."""
        sql_history.start_run("01D", "p", started_at=1.0)
        with caplog.at_level(logging.WARNING):
            sql_history.write_batch(
                [
                    *_batch("01D"),
                    StartRun("01G", "q", 5.0),
                    FinishRun("01D", "failed", 9.0),
                ]
            )
        assert len(sql_history.search_logs(run_id="01D", limit=200).items) == 100
        assert sql_history.get_run("01D").status == "failed"
        assert sql_history.get_run("01G").pipeline == "q"
        assert sql_history.rejected == 1
        assert "could not be stored" in caplog.text

    def test_apply_stays_all_or_nothing(self, sql_history):
        sql_history.start_run("01E", "p", started_at=1.0)
        with pytest.raises(Exception, match="write to"):
            sql_history.apply(_batch("01E"))
        assert sql_history.search_logs(run_id="01E").items == ()


@pytest.mark.postgres
class TestPostgresRun:
    def test_a_nul_in_a_log_line_keeps_the_run_in_the_history(self, pg_url):
        """The issue's case, end to end. Before: the run was not in the history."""

        class Noisy(Factory[int]):
            def read(self) -> Noisy:
                LOG.warning("odd input: %s", NUL)
                return self

            def process(self) -> Noisy:
                return self

            def write(self) -> Noisy:
                return self

            def get(self) -> int:
                return 1

        store = PostgresRunHistory(pg_url)
        with Session(history=store, observe=True) as session:
            pipeline = session.pipeline("nul").add_stage_from_type(Noisy)
            pipeline.run()
            run_id = pipeline.run_id
        run = store.get_run(run_id)
        assert run.status == "succeeded"
        assert len(store.list_factory_attempts(run_id).items) == 1
        lines = store.search_logs(run_id=run_id, text="odd input").items
        assert [line.message for line in lines] == ["odd input: before\ufffdafter"]
        store.close()


class TestCleaning:
    def test_clean_replaces_and_cuts_through_containers(self):
        value = {NUL: [SURROGATE, ("x" * (MAX_TEXT + 1),)], "n": 1}
        cleaned = clean(value)
        assert cleaned["before\ufffdafter"][0] == "bad \ufffd byte"
        assert cleaned["before\ufffdafter"][1][0].endswith("[pysetl cut 1 characters]")
        assert cleaned["n"] == 1

    def test_cut_leaves_short_text_alone(self):
        assert cut("short") == "short"

    def test_clean_item_cleans_operations_and_leaves_others(self):
        finish = clean_item(FinishRun("01F", "failed", 1.0, {"message": NUL}))
        assert finish.error["message"] == "before\ufffdafter"
        assert clean_item(42) == 42
        packed = clean_item(("S", "01F", 0, "failed", 1.0, 1.0, "not json \x00"))
        assert packed[6] == '"not json \\ufffd"'

    def test_reports_are_rate_limited_with_a_count(self, caplog):
        rejections = Rejections(interval=3600)
        with caplog.at_level(logging.WARNING):
            for _ in range(5):
                rejections.report(ValueError("bad\nsecond line"), 1, "db")
            rejections.report(ValueError(""), 0, "db")
        assert len(caplog.records) == 1
        assert "second line" not in caplog.text
        assert (rejections.batches, rejections.rows) == (6, 5)
