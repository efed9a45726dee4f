"""``pysetl.monitoring.runs``: what the CLI asks the history about runs."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from pysetl.errors import RunHistoryError
from pysetl.monitoring.history import AddEvent, AddLog, InMemoryRunHistory
from pysetl.monitoring.runs import (
    SAMPLE_EVENT,
    SKIPPED_EVENT,
    log_pages,
    parse_age,
    run_details,
    runs_page,
    spark_figures,
)

NOW = time.time()


@pytest.fixture
def history():
    store = InMemoryRunHistory()
    for number in range(5):
        store.start_run(f"01R{number}", "shop", started_at=NOW + number)
        store.finish_run(f"01R{number}", "succeeded", finished_at=NOW + number + 1)
    yield store
    store.close()


class TestParseAge:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [("45s", 45), ("90m", 5400), ("12h", 43200), ("30d", 2592000), ("2w", 1209600)],
    )
    def test_units(self, text, seconds):
        assert parse_age(text) == timedelta(seconds=seconds)

    def test_a_timedelta_is_kept(self):
        assert parse_age(timedelta(hours=1)) == timedelta(hours=1)

    def test_anything_else_is_a_history_error_with_a_hint(self):
        with pytest.raises(RunHistoryError) as info:
            parse_age("a month")
        assert info.value.hint == "write a number and a unit: 30d, 12h, 90m"


class TestRunsPage:
    def test_newest_first_one_page(self, history):
        page = runs_page(history, limit=2)
        assert [run.run_id for run in page.items] == ["01R4", "01R3"]
        assert page.next_cursor is not None

    def test_page_walks_on_and_stops_at_the_last(self, history):
        assert [r.run_id for r in runs_page(history, limit=2, page=2).items] == [
            "01R2",
            "01R1",
        ]
        assert [r.run_id for r in runs_page(history, limit=2, page=9).items] == ["01R0"]


class TestRunDetails:
    def test_a_run_with_its_figures_skips_and_samples(self, history):
        history.record_metric(
            "01R1", "pysetl_factory_spark_jobs", 2.0, factory="Orders"
        )
        history.record_metric(
            "01R1",
            "pysetl_factory_spark_executor_tasks",
            3.0,
            factory="Orders",
            labels={"executor": "driver"},
        )
        history.record_metric("01R1", "pysetl_factory_rows", 9.0, factory="Orders")
        history.apply(
            [
                AddEvent("01R1", NOW, SKIPPED_EVENT, 0, "Orders", data={"reason": "r"}),
                AddEvent("01R1", NOW, SAMPLE_EVENT, 0, "Orders", data={"rows": []}),
            ]
        )
        details = run_details(history, "01R1")
        assert details.run.run_id == "01R1"
        assert details.spark == {"Orders": ({"jobs": 2.0}, {"driver": 3.0})}
        assert spark_figures(history, "01R1") == details.spark
        assert [e.data["reason"] for e in details.skipped] == ["r"]
        assert [e.factory for e in details.samples] == ["Orders"]

    def test_no_such_run(self, history):
        with pytest.raises(RunHistoryError):
            run_details(history, "nope")


class TestLogPages:
    def test_without_follow_one_page(self, history):
        history.add_logs([AddLog(NOW, "INFO", f"line {n}", "01R1") for n in range(3)])
        (page,) = log_pages(history, "01R1", limit=2)
        assert [line.message for line in page.items] == ["line 0", "line 1"]
        assert page.next_cursor is not None

    def test_follow_polls_until_the_run_ends(self):
        store = InMemoryRunHistory()
        # Started now by this live process: it is not taken for a crashed run.
        store.start_run("01F", "shop")
        waits = []

        def sleep(seconds):
            waits.append(seconds)
            store.add_logs([AddLog(NOW, "INFO", f"late {len(waits)}", "01F")])
            if len(waits) == 2:
                store.finish_run("01F", "succeeded", finished_at=NOW + 1)

        pages = log_pages(store, "01F", follow=True, poll_interval=0.5, sleep=sleep)
        lines = [line.message for page in pages for line in page.items]
        assert lines == ["late 1", "late 2"]
        assert waits == [0.5, 0.5]

    def test_no_such_run(self, history):
        with pytest.raises(RunHistoryError):
            next(log_pages(history, "nope"))
