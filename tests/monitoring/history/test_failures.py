"""``list_failures``: the failures that error analytics groups, on every store."""

from __future__ import annotations

import pytest

from pysetl.errors import RunHistoryError
from pysetl.monitoring.history import FailureRecord
from pysetl.monitoring.history.ops import FinishAttempt, StartAttempt, error_to_dict

T0 = 1_700_000_000.0


def rid(n: int) -> str:
    return f"01RUN{n:021d}"


def _lookup(message: str) -> None:
    raise KeyError(message)


def _fail(message: str) -> None:
    try:
        _lookup(message)
    except KeyError as exc:
        raise ValueError(message) from exc


def error(message: str = "row 5 is bad") -> dict:
    try:
        _fail(message)
    except ValueError as exc:
        data = error_to_dict(exc)
    data["hint"] = "fix the row"
    return data


def attempt(history, run_id, factory, number, status, *, at=T0, err=None):
    history.apply(
        [
            StartAttempt(run_id, 0, factory, number, at),
            FinishAttempt(run_id, 0, factory, number, status, at + 1, 1.0, error=err),
        ]
    )


def key(failure: FailureRecord) -> tuple:
    return (failure.run_id, failure.factory, failure.attempt, failure.status)


class TestListFailures:
    def test_failed_attempts_and_runs_without_one_newest_run_first(self, history):
        history.start_run(rid(1), "p", started_at=T0)
        attempt(history, rid(1), "A", 1, "failed", err=error())
        attempt(history, rid(1), "A", 2, "succeeded")
        attempt(history, rid(1), "B", 1, "succeeded")
        history.finish_run(rid(1), "succeeded", finished_at=T0 + 5)
        history.start_run(rid(2), "p", started_at=T0 + 10)
        attempt(history, rid(2), "A", 1, "failed", at=T0 + 10, err=error())
        attempt(history, rid(2), "A", 2, "failed", at=T0 + 11, err=error())
        history.finish_run(rid(2), "failed", finished_at=T0 + 13, error=error())
        history.start_run(rid(3), "q", started_at=T0 + 20)
        history.mark_crashed(rid(3), at=T0 + 21)
        history.start_run(rid(4), "q", started_at=T0 + 30)
        history.finish_run(rid(4), "failed", finished_at=T0 + 31, error=error("x"))
        history.start_run(rid(5), "q", started_at=T0 + 40)  # still running
        history.start_run(rid(6), "q", started_at=T0 + 50)
        history.finish_run(rid(6), "succeeded", finished_at=T0 + 51)

        found = history.list_failures().items

        assert [key(f) for f in found] == [
            (rid(4), None, None, "failed"),
            (rid(3), None, None, "crashed"),
            (rid(2), "A", 2, "failed"),
            (rid(2), "A", 1, "failed"),
            (rid(1), "A", 1, "failed"),
        ]
        assert [f.ts for f in found] == [T0 + 31, T0 + 21, T0 + 12, T0 + 11, T0 + 1]
        assert [f.pipeline for f in found] == ["q", "q", "p", "p", "p"]
        assert found[1].error_type == "Crashed"
        assert found[1].hint

    def test_the_error_comes_without_its_traceback(self, history):
        history.start_run(rid(1), "p", started_at=T0)
        attempt(history, rid(1), "A", 1, "failed", err=error("row 7"))
        (failure,) = history.list_failures().items
        assert failure.error_type == "ValueError"
        assert failure.message == "row 7"
        assert failure.hint == "fix the row"
        assert failure.error_class is None
        assert failure.causes == ({"error_type": "KeyError", "message": "'row 7'"},)
        assert failure.id > 0
        assert not hasattr(failure, "traceback")

    def test_a_failure_without_an_error_is_still_listed(self, history):
        history.start_run(rid(1), "p", started_at=T0)
        history.finish_run(rid(1), "failed", finished_at=T0 + 1)
        attempt(history, rid(2), "A", 1, "failed", err=error())  # no such run
        (failure,) = history.list_failures().items
        assert (failure.error_type, failure.message, failure.causes) == (
            "Error",
            "",
            (),
        )

    def test_filters_by_pipeline_and_run_start(self, history):
        for n, pipeline in enumerate(["p", "q", "p", "q"]):
            history.start_run(rid(n), pipeline, started_at=T0 + 10 * n)
            attempt(history, rid(n), "A", 1, "failed", at=T0 + 10 * n, err=error())
        runs = lambda **kw: [f.run_id for f in history.list_failures(**kw).items]  # noqa: E731
        assert runs(pipeline="p") == [rid(2), rid(0)]
        assert runs(since=T0 + 10) == [rid(3), rid(2), rid(1)]
        assert runs(until=T0 + 20) == [rid(1), rid(0)]
        assert runs(pipeline="q", since=T0 + 15, until=T0 + 35) == [rid(3)]
        assert runs(pipeline="nope") == []

    @pytest.mark.parametrize("limit", [1, 2, 3, 50])
    def test_pages_cover_every_failure_once(self, history, limit):
        for n in range(4):
            history.start_run(rid(n), "p", started_at=T0 + n)
            if n % 2:
                history.finish_run(rid(n), "failed", finished_at=T0 + n, error=error())
            else:
                for number in (1, 2):
                    attempt(history, rid(n), "A", number, "failed", err=error())
        whole = history.list_failures(limit=50).items
        seen, cursor = [], None
        while True:
            page = history.list_failures(limit=limit, cursor=cursor)
            seen.extend(page.items)
            assert len(page.items) <= limit
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == list(whole)
        assert len(whole) == 6

    def test_runs_come_by_start_time_then_by_id(self, history):
        history.start_run(rid(9), "p", started_at=T0)
        history.start_run(rid(1), "p", started_at=T0 + 5)
        history.start_run(rid(2), "p", started_at=T0 + 5)
        for n in (9, 1, 2):
            history.finish_run(rid(n), "failed", finished_at=T0 + 6, error=error())
        attempt(history, rid(1), "A", 1, "failed", err=error())
        found = history.list_failures().items
        assert [f.run_id for f in found] == [rid(2), rid(1), rid(9)]
        assert [f.started_at for f in found] == [T0 + 5, T0 + 5, T0]
        for limit in (1, 2):
            first = history.list_failures(limit=limit)
            rest = history.list_failures(limit=50, cursor=first.next_cursor)
            assert [*first.items, *rest.items] == list(found)

    @pytest.mark.parametrize(
        "cursor", ["nope", "R1:x", ":3", "R1:-1", "1.0:R1:x", "1.0::3", "x:R1:3"]
    )
    def test_a_foreign_cursor_is_refused(self, history, cursor):
        with pytest.raises(RunHistoryError, match="not a cursor"):
            history.list_failures(cursor=cursor)
