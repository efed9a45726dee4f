"""The contract of ``BaseRunHistory``, run over memory, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

import pytest

from pysetl.errors import RunHistoryError
from pysetl.monitoring.history import LATEST_VERSION, AddLog, BaseRunHistory
from pysetl.monitoring.history import _base as base
from pysetl.monitoring.history.ops import (
    AddEvent,
    AddMetric,
    FinishAttempt,
    FinishStage,
    SaveConfigVersion,
    StartAttempt,
    StartRun,
    StartStage,
    error_to_dict,
)

T0 = 1_700_000_000.0


def run_id(n: int) -> str:
    """Ids that sort like ULIDs: a higher n is a newer run."""
    return f"01RUN{n:021d}"


def seed_runs(history: BaseRunHistory, count: int, pipeline: str = "p") -> list[str]:
    ids = []
    for n in range(count):
        rid = run_id(n)
        history.start_run(rid, pipeline, started_at=T0 + n)
        ids.append(rid)
    return ids


def all_pages(fetch, limit):
    items, cursor, pages = [], None, 0
    while True:
        page = fetch(limit=limit, cursor=cursor)
        items.extend(page.items)
        pages += 1
        if page.next_cursor is None:
            return items, pages
        cursor = page.next_cursor


class TestRuns:
    def test_a_started_run_is_running_with_its_process(self, history):
        history.start_run(run_id(1), "daily", started_at=T0, config_version="abc")
        run = history.get_run(run_id(1))
        assert run.status == "running"
        assert run.pipeline == "daily"
        assert run.started_at == T0
        assert run.heartbeat_at == T0
        assert run.pid == os.getpid()
        assert run.host == socket.gethostname()
        assert run.config_version == "abc"
        assert run.duration is None

    def test_a_finished_run_keeps_its_error_whole(self, history):
        def fail():
            try:
                {}["inner"]
            except KeyError as exc:
                raise ValueError("outer") from exc

        with pytest.raises(ValueError, match="outer") as info:
            fail()
        context = error_to_dict(info.value)
        history.start_run(run_id(1), "daily", started_at=T0)
        history.finish_run(run_id(1), "failed", finished_at=T0 + 2.5, error=context)
        run = history.get_run(run_id(1))
        assert run.status == "failed"
        assert run.duration == 2.5
        assert run.error == context
        assert run.error["causes"] == [{"error_type": "KeyError", "message": "'inner'"}]
        assert "Traceback" in run.error["traceback"]

    def test_finish_run_defaults_to_now(self, history):
        history.start_run(run_id(1), "daily")
        history.finish_run(run_id(1), "succeeded")
        assert history.get_run(run_id(1)).duration >= 0

    def test_an_unknown_run_is_none_or_an_error_with_a_hint(self, history):
        assert history.find_run("nope") is None
        with pytest.raises(RunHistoryError, match="No run 'nope'") as info:
            history.get_run("nope")
        assert "pysetl runs list" in info.value.hint

    def test_finish_run_rejects_an_unknown_status(self, history):
        with pytest.raises(RunHistoryError, match="Unknown run status 'done'"):
            history.finish_run(run_id(1), "done")

    def test_heartbeat_moves_only_while_running(self, history):
        history.start_run(run_id(1), "p", started_at=T0)
        history.heartbeat(run_id(1), at=T0 + 5)
        assert history.get_run(run_id(1)).heartbeat_at == T0 + 5
        history.finish_run(run_id(1), "succeeded", finished_at=T0 + 6)
        history.heartbeat(run_id(1), at=T0 + 50)
        history.heartbeat("unknown-run")
        assert history.get_run(run_id(1)).heartbeat_at == T0 + 5

    def test_schema_is_at_the_latest_version(self, history):
        assert history.schema_version == LATEST_VERSION

    def test_repr_names_the_store(self, history):
        assert type(history).__name__ in repr(history)

    def test_config_versions_are_saved_once(self, history):
        op = SaveConfigVersion("h1", "a: 1", T0)
        history.apply([op, op])
        history.apply([SaveConfigVersion("h1", "other", T0 + 1)])
        history.apply([])  # nothing to write is fine


class TestListRuns:
    def test_newest_first(self, history):
        ids = seed_runs(history, 3)
        assert [r.run_id for r in history.list_runs().items] == ids[::-1]

    def test_pages_cover_every_run_once(self, history):
        ids = seed_runs(history, 7)
        items, pages = all_pages(history.list_runs, limit=3)
        assert [r.run_id for r in items] == ids[::-1]
        assert pages == 3

    def test_an_exact_last_page_has_no_next_cursor(self, history):
        seed_runs(history, 4)
        first = history.list_runs(limit=2)
        second = history.list_runs(limit=2, cursor=first.next_cursor)
        assert len(second.items) == 2
        assert second.next_cursor is None

    def test_filters(self, history):
        seed_runs(history, 3, pipeline="a")
        history.start_run(run_id(10), "b", started_at=T0 + 10)
        history.finish_run(run_id(10), "failed", finished_at=T0 + 11)
        assert [r.run_id for r in history.list_runs(pipeline="b").items] == [run_id(10)]
        assert [r.run_id for r in history.list_runs(status="failed").items] == [
            run_id(10)
        ]
        assert len(history.list_runs(status="running").items) == 3
        window = history.list_runs(since=T0 + 1, until=T0 + 10)
        assert [r.run_id for r in window.items] == [run_id(2), run_id(1)]

    @pytest.mark.parametrize("limit", [0, 1001])
    def test_the_page_size_is_bounded(self, history, limit):
        with pytest.raises(RunHistoryError, match="Page size"):
            history.list_runs(limit=limit)

    def test_an_unknown_status_is_refused(self, history):
        with pytest.raises(RunHistoryError, match="Unknown run status"):
            history.list_runs(status="paused")


class TestStagesAndAttempts:
    def test_stage_lifecycle_and_paging(self, history):
        history.start_run(run_id(1), "p", started_at=T0)
        for stage in range(3):
            history.apply([StartStage(run_id(1), stage, T0 + stage)])
        history.apply([FinishStage(run_id(1), 0, "succeeded", T0 + 0.5, 0.5)])
        # a finish whose start was lost still creates the row
        history.apply([FinishStage(run_id(1), 7, "failed", T0 + 9, 1.0, {"x": 1})])
        items, pages = all_pages(
            lambda **kw: history.list_stage_runs(run_id(1), **kw), limit=2
        )
        assert [s.stage_id for s in items] == [0, 1, 2, 7]
        assert pages == 2
        assert items[0].status == "succeeded"
        assert items[0].duration == 0.5
        assert items[1].status == "running"
        assert items[3].started_at is None
        assert items[3].error == {"x": 1}

    def test_attempt_lifecycle_keeps_phases_and_error(self, history):
        rid = run_id(1)
        history.apply(
            [
                StartAttempt(rid, 0, "Load", 1, T0),
                StartAttempt(rid, 1, "Clean", 1, T0 + 1),
                FinishAttempt(
                    rid, 0, "Load", 1, "succeeded", T0 + 0.5, 0.5, {"read": 0.2}
                ),
                FinishAttempt(
                    rid,
                    1,
                    "Clean",
                    1,
                    "failed",
                    T0 + 2,
                    1.0,
                    {"read": 0.1},
                    "process",
                    {"error_type": "ValueError"},
                ),
                FinishAttempt(rid, 1, "Clean", 2, "succeeded", T0 + 3, 0.3),
            ]
        )
        attempts = history.list_factory_attempts(rid).items
        assert [(a.factory, a.attempt, a.status) for a in attempts] == [
            ("Load", 1, "succeeded"),
            ("Clean", 1, "failed"),
            ("Clean", 2, "succeeded"),
        ]
        load, clean, retry = attempts
        assert load.phases == {"read": 0.2}
        assert load.started_at == T0
        assert clean.phase == "process"
        assert clean.error == {"error_type": "ValueError"}
        assert retry.started_at is None
        only = history.list_factory_attempts(rid, factory="Clean").items
        assert [a.attempt for a in only] == [1, 2]
        items, pages = all_pages(
            lambda **kw: history.list_factory_attempts(rid, **kw), limit=2
        )
        assert [a.id for a in items] == [a.id for a in attempts]
        assert pages == 2

    def test_a_bad_cursor_is_refused(self, history):
        with pytest.raises(RunHistoryError, match="Cursor 'x'"):
            history.list_factory_attempts(run_id(1), cursor="x")


class TestEventsAndMetrics:
    def test_events_in_order_with_filters_and_pages(self, history):
        rid = run_id(1)
        history.apply(
            [
                AddEvent(rid, T0, "before_pipeline_run"),
                AddEvent(rid, T0 + 1, "before_factory_run", 0, "Load", 1),
                AddEvent(
                    rid, T0 + 2, "after_factory_run", 0, "Load", 1, {"duration": 1.0}
                ),
                AddEvent(run_id(2), T0, "before_pipeline_run"),
                AddEvent(rid, T0 + 3, "after_pipeline_run"),
            ]
        )
        events = history.list_events(rid).items
        assert [e.name for e in events] == [
            "before_pipeline_run",
            "before_factory_run",
            "after_factory_run",
            "after_pipeline_run",
        ]
        assert events[2].data == {"duration": 1.0}
        assert events[2].factory == "Load"
        assert events[2].stage_id == 0
        assert events[2].attempt == 1
        assert len(history.list_events(rid, factory="Load").items) == 2
        assert len(history.list_events(rid, name="after_pipeline_run").items) == 1
        items, pages = all_pages(lambda **kw: history.list_events(rid, **kw), 3)
        assert items == list(events)
        assert pages == 2

    def test_metrics(self, history):
        rid = run_id(1)
        history.record_metric(rid, "rows", 10, factory="Load", labels={"t": "a"})
        history.record_metric(rid, "rows", 12, ts=T0)
        history.record_metric(rid, "bytes", 1e6)
        rows = history.list_metrics(rid, name="rows").items
        assert [(m.value, m.factory, m.labels) for m in rows] == [
            (10.0, "Load", {"t": "a"}),
            (12.0, None, {}),
        ]
        assert rows[1].ts == T0
        items, pages = all_pages(lambda **kw: history.list_metrics(rid, **kw), 2)
        assert [m.name for m in items] == ["rows", "rows", "bytes"]
        assert pages == 2


class TestLogs:
    @pytest.fixture
    def logs(self, history):
        r1, r2 = run_id(1), run_id(2)
        history.add_logs(
            [
                AddLog(T0, "INFO", "reading orders.csv", r1, "Load", "etl"),
                AddLog(T0 + 1, "warning", "100% of rows_x were NULL", r1, "Clean"),
                AddLog(T0 + 2, "ERROR", "Cannot WRITE table", r1, "Write"),
                AddLog(T0 + 3, "DEBUG", "noise", r1, "Load"),
                AddLog(T0 + 4, "INFO", "other run", r2, "Load"),
                AddLog(T0 + 5, "NOTICE", "custom level", r1),
            ]
        )
        return history

    def messages(self, page):
        return [line.message for line in page.items]

    def test_by_run_in_order(self, logs):
        page = logs.search_logs(run_id(1))
        assert len(page.items) == 5
        assert page.items[0].logger == "etl"
        assert page.items[1].level == "WARNING"
        assert len(logs.search_logs().items) == 6

    def test_by_factory(self, logs):
        assert self.messages(logs.search_logs(run_id(1), factory="Load")) == [
            "reading orders.csv",
            "noise",
        ]

    @pytest.mark.parametrize("level", ["warning", "WARNING", 30])
    def test_by_level_and_up(self, logs, level):
        assert self.messages(logs.search_logs(run_id(1), level=level)) == [
            "100% of rows_x were NULL",
            "Cannot WRITE table",
        ]

    def test_an_unknown_level_is_refused(self, logs):
        with pytest.raises(RunHistoryError, match="Unknown log level 'LOUD'"):
            logs.search_logs(run_id(1), level="LOUD")

    def test_by_text_ignoring_case(self, logs):
        assert self.messages(logs.search_logs(run_id(1), text="write")) == [
            "Cannot WRITE table"
        ]

    def test_text_wildcards_are_literal(self, logs):
        assert self.messages(logs.search_logs(text="100%")) == [
            "100% of rows_x were NULL"
        ]
        assert self.messages(logs.search_logs(text="s_x")) == [
            "100% of rows_x were NULL"
        ]
        assert self.messages(logs.search_logs(text="0%_")) == []

    def test_combined_filters_and_pages(self, logs):
        items, pages = all_pages(
            lambda **kw: logs.search_logs(run_id(1), level="DEBUG", **kw), 2
        )
        assert len(items) == 5
        assert pages == 3
        after = logs.search_logs(run_id(1), cursor=str(items[2].id))
        assert after.items == tuple(items[3:])


class TestCrashes:
    def test_mark_crashed_closes_what_was_running(self, history):
        rid = run_id(1)
        history.start_run(rid, "p", started_at=T0)
        history.apply(
            [
                StartStage(rid, 0, T0),
                FinishStage(rid, 0, "succeeded", T0 + 1),
                StartStage(rid, 1, T0 + 1),
                StartAttempt(rid, 0, "Done", 1, T0),
                FinishAttempt(rid, 0, "Done", 1, "succeeded", T0 + 1),
                StartAttempt(rid, 1, "Busy", 1, T0 + 1),
            ]
        )
        history.mark_crashed(rid, at=T0 + 5, reason="killed")
        run = history.get_run(rid)
        assert run.status == "crashed"
        assert run.finished_at == T0 + 5
        assert run.error["message"] == "killed"
        stages = history.list_stage_runs(rid).items
        assert [s.status for s in stages] == ["succeeded", "crashed"]
        attempts = history.list_factory_attempts(rid).items
        assert [a.status for a in attempts] == ["succeeded", "crashed"]

    def test_mark_crashed_leaves_finished_runs_alone(self, history):
        history.start_run(run_id(1), "p", started_at=T0)
        history.finish_run(run_id(1), "succeeded", finished_at=T0 + 1)
        history.mark_crashed(run_id(1))
        history.mark_crashed("unknown")
        assert history.get_run(run_id(1)).status == "succeeded"

    def test_reconcile_finds_dead_runs(self, history, dead_pid):
        now = T0 + 1000
        host = socket.gethostname()
        history.start_run(run_id(1), "stale", started_at=T0, host="elsewhere")
        history.start_run(run_id(2), "gone", started_at=now, pid=dead_pid)
        history.start_run(run_id(3), "alive", started_at=now, pid=os.getpid())
        history.start_run(run_id(4), "remote", started_at=now, host="elsewhere")
        history.start_run(run_id(5), "beating", started_at=T0, pid=os.getpid())
        history.heartbeat(run_id(5), at=now - 1)
        crashed = history.reconcile_crashed(stale_after=60, now=now, host=host)
        assert sorted(crashed) == [run_id(1), run_id(2)]
        assert history.get_run(run_id(1)).status == "crashed"
        assert "no heartbeat" in history.get_run(run_id(1)).error["message"]
        assert "is gone" in history.get_run(run_id(2)).error["message"]
        for alive in (3, 4, 5):
            assert history.get_run(run_id(alive)).status == "running"
        assert history.reconcile_crashed(now=now, host=host) == []

    @pytest.mark.parametrize(
        ("last", "seen"),
        [
            (AddEvent(run_id(1), T0 + 1.5, "before_factory_run"), T0 + 1.5),
            (AddLog(T0 + 2.25, "INFO", "tick", run_id(1)), T0 + 2.25),
            (AddMetric(run_id(1), "rows", 1.0, T0 + 1.75), T0 + 1.75),
            (StartAttempt(run_id(1), 0, "Busy", 2, T0 + 2.5), T0 + 2.5),
            (None, T0 + 1.0),  # the stage start
        ],
    )
    def test_a_dead_run_ends_at_its_last_sign_of_life(
        self, history, dead_pid, last, seen
    ):
        """Killed before its first heartbeat, it lasted until its last record."""
        rid = run_id(1)
        history.start_run(rid, "p", started_at=T0, pid=dead_pid)
        history.apply(
            [
                StartStage(rid, 0, T0 + 1),
                StartAttempt(rid, 0, "Busy", 1, T0 + 1),
                AddLog(T0 + 99, "INFO", "another run", run_id(2)),
                *([last] if last is not None else []),
            ]
        )
        assert history.reconcile_crashed(now=T0 + 10) == [rid]
        run = history.get_run(rid)
        assert run.status == "crashed"
        assert run.finished_at == seen
        assert run.duration == seen - T0
        (stage,) = history.list_stage_runs(rid).items
        assert (stage.status, stage.finished_at) == ("crashed", seen)
        assert stage.duration == seen - (T0 + 1)
        attempts = history.list_factory_attempts(rid).items
        assert {a.finished_at for a in attempts} == {seen}
        assert attempts[0].duration == seen - (T0 + 1)

    def test_a_later_heartbeat_or_at_wins_over_older_records(self, history, dead_pid):
        rid, stale = run_id(1), run_id(2)
        history.start_run(rid, "p", started_at=T0, pid=dead_pid)
        history.start_run(stale, "p", started_at=T0, host="elsewhere")
        history.apply([AddEvent(rid, T0 + 1, "x"), AddEvent(stale, T0 + 1, "x")])
        history.heartbeat(rid, at=T0 + 3)
        history.reconcile_crashed(stale_after=60, now=T0 + 100)
        assert history.get_run(rid).duration == 3
        assert history.get_run(stale).duration == 1
        history.start_run(run_id(3), "p", started_at=T0)
        history.apply([AddEvent(run_id(3), T0 + 1, "x")])
        history.mark_crashed(run_id(3), at=T0 + 7)
        assert history.get_run(run_id(3)).duration == 7

    def test_reconcile_pages_through_many_running_runs(self, history, monkeypatch):
        monkeypatch.setattr(base, "MAX_LIMIT", 10)  # pages of 10, not 1000
        history.apply([StartRun(run_id(n), "p", T0, 1, "elsewhere") for n in range(25)])
        crashed = history.reconcile_crashed(now=T0 + 3600)
        assert len(crashed) == 25


class TestPrune:
    def test_deletes_old_finished_runs_and_all_they_own(self, history):
        now = T0 + 40 * 86400
        old, recent, running = run_id(1), run_id(2), run_id(3)
        history.start_run(old, "p", started_at=T0)
        history.finish_run(old, "succeeded", finished_at=T0 + 1)
        history.start_run(recent, "p", started_at=now - 86400)
        history.finish_run(recent, "failed", finished_at=now - 86000)
        history.start_run(running, "p", started_at=T0)
        for rid in (old, recent):
            history.apply(
                [
                    StartStage(rid, 0, T0),
                    StartAttempt(rid, 0, "F", 1, T0),
                    AddEvent(rid, T0, "before_pipeline_run"),
                ]
            )
            history.record_metric(rid, "rows", 1)
            history.add_logs([AddLog(T0, "INFO", "x", rid)])
        history.add_logs(
            [AddLog(T0, "INFO", "old, no run"), AddLog(now, "INFO", "new, no run")]
        )
        assert history.prune(timedelta(days=30), now=now) == 1
        assert history.find_run(old) is None
        assert history.find_run(recent) is not None
        assert history.find_run(running) is not None
        assert history.list_stage_runs(old).items == ()
        assert history.list_factory_attempts(old).items == ()
        assert history.list_events(old).items == ()
        assert history.list_metrics(old).items == ()
        assert history.search_logs(old).items == ()
        assert len(history.list_events(recent).items) == 1
        assert [g.message for g in history.search_logs().items] == [
            "x",
            "new, no run",
        ]

    def test_a_negative_age_is_refused(self, history):
        with pytest.raises(RunHistoryError, match="negative"):
            history.prune(timedelta(days=-1))

    def test_prune_defaults_to_now(self, history):
        history.start_run(run_id(1), "p", started_at=T0)
        history.finish_run(run_id(1), "succeeded", finished_at=T0)
        assert history.prune(timedelta(days=1)) == 1


class TestLifecycle:
    def test_context_manager_closes_and_the_store_reopens(self, history):
        with history as store:
            store.start_run(run_id(1), "p", started_at=T0)
        assert history.get_run(run_id(1)).pipeline == "p"
