"""Error groups, occurrences and new fingerprints over histories of real runs."""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime, timedelta, timezone

import pytest

from pysetl.errors import RunHistoryError
from pysetl.monitoring.errors import (
    MAX_TREND_DAYS,
    DailyCount,
    error_groups,
    error_occurrences,
    errors_of_run,
    fingerprint,
    is_new_fingerprint,
    normalise_message,
)
from pysetl.monitoring.history import InMemoryRunHistory, SqliteRunHistory
from pysetl.monitoring.history.ops import FinishAttempt, StartAttempt, error_to_dict

DAY = 86_400.0
T0 = datetime(2026, 3, 1, 12, tzinfo=timezone.utc).timestamp()


def by_factory(groups):
    return {group.factory: group for group in groups}


class TestErrorGroups:
    def test_one_group_per_error_across_runs_and_pipelines(self, failing_runs):
        history, runs = failing_runs.history, failing_runs.runs
        clean = by_factory(error_groups(history))["Clean"]
        assert clean.error_class == "ValueError"  # the cause, not FactoryError
        assert clean.title == "row <n> is negative (-<n>) in batch <addr>"
        assert (clean.count, clean.runs) == (4, 4)
        assert clean.pipelines == ("orders", "refunds")
        assert clean.last_run_id == runs["clean"][-1]
        last = history.get_run(runs["clean"][-1])
        first = history.get_run(runs["clean"][0])
        assert first.started_at <= clean.first_seen <= clean.last_seen
        assert clean.last_seen <= last.finished_at
        assert clean.hint

    def test_each_factory_and_error_is_a_group_latest_first(self, failing_runs):
        history, runs = failing_runs.history, failing_runs.runs
        groups = error_groups(history)
        assert [g.factory for g in groups] == [None, "Clean", "LoadOrders"]
        preflight, _, load = groups
        assert preflight.error_class == "DependencyResolutionError"
        assert preflight.last_run_id == runs["preflight"][0]
        assert preflight.pipelines == ("reports",)
        assert load.title == "No such file or directory: '<path>'"
        assert (load.error_class, load.count) == ("FileNotFoundError", 3)
        assert len({g.fingerprint for g in groups}) == 3

    def test_filters_and_limit(self, failing_runs):
        history, runs = failing_runs.history, failing_runs.runs
        refunds = error_groups(history, pipeline="refunds")
        assert [(g.factory, g.count) for g in refunds] == [("Clean", 2)]
        assert [g.factory for g in error_groups(history, limit=1)] == [None]
        later = history.get_run(runs["clean"][0]).started_at
        assert {g.factory for g in error_groups(history, since=later)} == {
            None,
            "Clean",
        }
        assert error_groups(history, until=later)[0].factory == "LoadOrders"
        assert error_groups(history, since=timedelta(days=1)) != []
        future = later + 10 * DAY
        assert error_groups(history, since=timedelta(days=1), now=future) == []
        assert error_groups(history, pipeline="nope") == []

    def test_a_limit_below_one_is_refused(self, failing_runs):
        with pytest.raises(RunHistoryError, match="error groups"):
            error_groups(failing_runs.history, limit=0)

    def test_the_trend_ends_today_and_is_json_ready(self, failing_runs):
        (group, *_) = error_groups(failing_runs.history, since=timedelta(days=6))
        today = datetime.now(tz=timezone.utc).date()
        assert [d.day for d in group.trend] == [
            today - timedelta(days=n) for n in range(6, -1, -1)
        ]
        assert group.trend[-1].count == 1
        data = json.loads(json.dumps(group.to_dict()))
        assert data["trend"][-1] == {"day": today.isoformat(), "count": 1}
        assert data["fingerprint"] == group.fingerprint
        assert data["pipelines"] == ["reports"]


def fail_on(history, n: int, at: float, message: str, *, factory="Load") -> str:
    run_id = f"01RUN{n:021d}"
    error = error_to_dict(ValueError(message))
    history.start_run(run_id, "p", started_at=at)
    history.apply(
        [
            StartAttempt(run_id, 0, factory, 1, at),
            FinishAttempt(run_id, 0, factory, 1, "failed", at + 1, 1.0, error=error),
        ]
    )
    history.finish_run(run_id, "failed", finished_at=at + 2, error=error)
    return run_id


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    if request.param == "memory":
        history = InMemoryRunHistory()
    else:
        history = SqliteRunHistory(tmp_path / "h.db")
    yield history
    history.close()


class TestTrend:
    def test_counts_each_utc_day_with_the_quiet_ones(self, store):
        for n, day in enumerate([0, 0, 2, 3, 3, 3]):
            fail_on(store, n, T0 + day * DAY, f"row {n} is bad")
        (group,) = error_groups(store, since=T0 - DAY, now=T0 + 4 * DAY)
        start = date(2026, 2, 28)
        assert group.trend == tuple(
            DailyCount(start + timedelta(days=n), count)
            for n, count in enumerate([0, 2, 0, 1, 3, 0])
        )
        assert (group.first_seen, group.last_seen) == (T0 + 1, T0 + 3 * DAY + 1)

    def test_without_since_it_starts_at_the_first_failure(self, store):
        fail_on(store, 1, T0, "x")
        (group,) = error_groups(store, now=T0 + DAY)
        assert [d.day for d in group.trend] == [date(2026, 3, 1), date(2026, 3, 2)]

    def test_keeps_the_last_days_of_a_long_window(self, store):
        fail_on(store, 1, T0, "x")
        fail_on(store, 2, T0 + 200 * DAY, "x")
        (group,) = error_groups(store, now=T0 + 200 * DAY)
        assert len(group.trend) == MAX_TREND_DAYS
        assert group.trend[-1] == DailyCount(date(2026, 9, 17), 1)
        assert group.count == 2

    def test_groups_read_more_than_one_page(self, store):
        for n in range(1005):
            fail_on(store, n, T0 + n, f"row {n}", factory=f"F{n % 2}")
        groups = error_groups(store, now=T0 + DAY)
        assert sorted(g.count for g in groups) == [502, 503]


class TestOccurrences:
    def test_newest_first_with_their_runs(self, failing_runs):
        history, runs = failing_runs.history, failing_runs.runs
        clean = by_factory(error_groups(history))["Clean"]
        found = error_occurrences(history, clean.fingerprint)
        assert [o.run_id for o in found] == runs["clean"][::-1]
        assert [o.pipeline for o in found] == ["refunds", "orders"] * 2
        assert {(o.factory, o.attempt, o.status) for o in found} == {
            ("Clean", 1, "failed")
        }
        assert found[0].message == "row 1001 is negative (-1.5) in batch 0x7f0001"
        assert found[0].error_class == "ValueError"
        assert json.loads(json.dumps(found[0].to_dict()))["run_id"] == found[0].run_id

    def test_a_prefix_filters_and_limits(self, failing_runs):
        history, runs = failing_runs.history, failing_runs.runs
        load = by_factory(error_groups(history))["LoadOrders"]
        found = error_occurrences(history, load.fingerprint[:4].upper(), limit=2)
        assert [o.run_id for o in found] == runs["load"][:0:-1]
        assert error_occurrences(history, load.fingerprint, pipeline="refunds") == []
        assert error_occurrences(history, "0000000000ff") == []

    def test_a_too_short_prefix_is_refused(self, failing_runs):
        with pytest.raises(RunHistoryError, match="too short"):
            error_occurrences(failing_runs.history, "ab")

    def test_a_prefix_of_two_groups_is_refused_with_both(self, store):
        seen: dict[str, str] = {}
        for word in map("".join, itertools.product("abcdefghijklmnop", repeat=3)):
            found = fingerprint("ValueError", "Load", normalise_message(word))
            other = seen.setdefault(found[:4], word)
            if other != word:
                break
        fail_on(store, 1, T0, other)
        fail_on(store, 2, T0 + 1, word)
        with pytest.raises(RunHistoryError, match="2 error groups") as caught:
            error_occurrences(store, found[:4])
        assert found in caught.value.hint


class TestErrorsOfRun:
    def test_the_same_fingerprints_as_the_groups(self, failing_runs):
        history, runs = failing_runs.history, failing_runs.runs
        groups = by_factory(error_groups(history))
        (clean,) = errors_of_run(history, runs["clean"][0])
        assert clean.fingerprint == groups["Clean"].fingerprint
        assert clean.pipeline == "orders"
        (preflight,) = errors_of_run(history, runs["preflight"][0])
        assert preflight.fingerprint == groups[None].fingerprint
        assert (preflight.factory, preflight.attempt) == (None, None)
        assert errors_of_run(history, runs["fine"][0]) == []

    def test_an_unknown_run_is_an_error(self, failing_runs):
        with pytest.raises(RunHistoryError, match="No run"):
            errors_of_run(failing_runs.history, "nope")


class TestIsNewFingerprint:
    def test_new_until_a_run_before_had_it(self, failing_runs):
        history, runs = failing_runs.history, failing_runs.runs
        first, second = (history.get_run(r) for r in runs["clean"][:2])
        (occurrence,) = errors_of_run(history, first.run_id)
        fp = occurrence.fingerprint
        assert is_new_fingerprint(history, fp, before=first.started_at)
        assert not is_new_fingerprint(history, fp, before=second.started_at)
        assert is_new_fingerprint(
            history, fp, before=second.started_at, since=second.started_at
        )
        assert is_new_fingerprint(history, "0123456789ab", before=second.finished_at)

    def test_a_pruned_error_is_new_again(self, store):
        fp = errors_of_run(store, fail_on(store, 1, T0, "x"))[0].fingerprint
        assert not is_new_fingerprint(store, fp, before=T0 + DAY)
        store.prune(timedelta(days=1), now=T0 + 2 * DAY)
        assert is_new_fingerprint(store, fp, before=T0 + DAY)


class TestLongRuns:
    def test_last_seen_is_the_latest_failure_not_the_latest_run(self, store):
        slow = fail_on(store, 1, T0, "x")
        error = error_to_dict(ValueError("x"))
        store.apply(
            [FinishAttempt(slow, 0, "Load", 1, "failed", T0 + 50, 50.0, error=error)]
        )
        fast = fail_on(store, 2, T0 + 10, "x")
        (group,) = error_groups(store, now=T0 + DAY)
        assert group.last_run_id == slow != fast
        assert group.last_seen == T0 + 50

    def test_a_run_with_more_attempts_than_a_page(self, store):
        run_id = fail_on(store, 1, T0, "row 1")
        error = error_to_dict(ValueError("row 7"))
        store.apply(
            [
                FinishAttempt(run_id, 0, "Load", n, "failed", T0 + n, 1.0, error=error)
                for n in range(2, 1003)
            ]
        )
        found = errors_of_run(store, run_id)
        assert len(found) == 1002
        assert len({o.fingerprint for o in found}) == 1
