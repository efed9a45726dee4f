"""The queries across runs that the dashboard uses, on every store."""

from __future__ import annotations

import pytest

from pysetl.errors import RunHistoryError
from pysetl.monitoring.history import MAX_LIMIT, RUN_START_EVENT
from pysetl.monitoring.history.ops import (
    AddEvent,
    AddMetric,
    FinishAttempt,
    StartAttempt,
)
from pysetl.monitoring.history.records import (
    AttemptSummary,
    FactoryCounts,
    MetricTotal,
    PipelineSummary,
)

T0 = 1_700_000_000.0


def rid(n: int) -> str:
    return f"01RUN{n:021d}"


def attempt(history, run_id, factory, status, *, number=1, stage=0, duration=1.0):
    ops = [StartAttempt(run_id, stage, factory, number, T0)]
    if status != "running":
        ops.append(
            FinishAttempt(run_id, stage, factory, number, status, T0 + 1, duration)
        )
    history.apply(ops)


class TestListPipelines:
    def test_each_pipeline_once_with_its_count_and_newest_run(self, history):
        history.start_run(rid(1), "b", started_at=T0 + 1)
        history.start_run(rid(2), "a", started_at=T0 + 2)
        history.start_run(rid(3), "b", started_at=T0 + 3)
        history.finish_run(rid(3), "failed", finished_at=T0 + 4)
        assert history.list_pipelines() == [
            PipelineSummary("a", 1, rid(2), "running", T0 + 2),
            PipelineSummary("b", 2, rid(3), "failed", T0 + 3),
        ]

    def test_limit_and_empty(self, history):
        assert history.list_pipelines() == []
        history.start_run(rid(1), "b", started_at=T0)
        history.start_run(rid(2), "a", started_at=T0)
        assert [p.pipeline for p in history.list_pipelines(limit=1)] == ["a"]


class TestAttemptSummaries:
    def test_attempts_of_the_given_runs_in_start_order(self, history):
        attempt(history, rid(1), "A", "succeeded", duration=2.0)
        attempt(history, rid(2), "B", "failed")
        attempt(history, rid(1), "C", "running", stage=1)
        assert history.attempt_summaries([rid(1), rid(1)]) == [
            AttemptSummary(rid(1), 0, "A", 1, "succeeded", 2.0),
            AttemptSummary(rid(1), 1, "C", 1, "running", None),
        ]
        assert history.attempt_summaries([]) == []

    def test_too_many_runs_is_refused_with_a_hint(self, history):
        ids = [rid(n) for n in range(MAX_LIMIT + 1)]
        with pytest.raises(RunHistoryError, match="Cannot query 1001 runs") as info:
            history.attempt_summaries(ids)
        assert "at most" in info.value.hint


class TestMetricTotals:
    def test_sum_peak_and_count_per_run_and_name(self, history):
        history.apply(
            [
                AddMetric(rid(1), "cpu", 1.5, T0, "A"),
                AddMetric(rid(1), "cpu", 2.5, T0, "B"),
                AddMetric(rid(1), "rows", 10, T0, "A"),
                AddMetric(rid(2), "cpu", 7, T0, "A"),
                AddMetric(rid(3), "cpu", 9, T0, "A"),
            ]
        )
        assert history.metric_totals([rid(2), rid(1)]) == [
            MetricTotal(rid(1), "cpu", 4.0, 2.5, 2),
            MetricTotal(rid(1), "rows", 10.0, 10.0, 1),
            MetricTotal(rid(2), "cpu", 7.0, 7.0, 1),
        ]
        assert history.metric_totals([rid(1)], names=["rows"]) == [
            MetricTotal(rid(1), "rows", 10.0, 10.0, 1)
        ]
        assert history.metric_totals([rid(1)], names=[]) == []
        assert history.metric_totals([rid(1), rid(2)], factory="B") == [
            MetricTotal(rid(1), "cpu", 2.5, 2.5, 1)
        ]
        assert history.metric_totals([]) == []


class TestLatestEvents:
    def test_the_newest_event_of_that_name_per_run(self, history):
        history.apply(
            [
                AddEvent(rid(1), T0, "spark_progress", data={"n": 1}),
                AddEvent(rid(1), T0 + 1, "spark_progress", data={"n": 2}),
                AddEvent(rid(1), T0 + 2, "other", data={"n": 3}),
                AddEvent(rid(2), T0, "spark_progress", data={"n": 4}),
            ]
        )
        found = history.latest_events([rid(1), rid(2), rid(3)], "spark_progress")
        assert {k: v.data["n"] for k, v in found.items()} == {rid(1): 2, rid(2): 4}
        assert history.latest_event(rid(1), "other").data == {"n": 3}
        assert history.latest_event(rid(3), "other") is None
        assert history.latest_events([], "other") == {}


class TestFactoryCounts:
    def test_latest_attempt_of_each_factory_counts_once(self, history):
        attempt(history, rid(1), "A", "failed", number=1)
        attempt(history, rid(1), "A", "succeeded", number=2)
        attempt(history, rid(1), "B", "failed")
        attempt(history, rid(1), "C", "running")
        history.apply([AddEvent(rid(1), T0, RUN_START_EVENT, data={"factories": 5})])
        history.apply([AddEvent(rid(2), T0, RUN_START_EVENT)])  # count unknown
        attempt(history, rid(2), "A", "succeeded")
        counts = history.factory_counts([rid(1), rid(2), rid(3)])
        assert counts == {
            rid(1): FactoryCounts(total=5, succeeded=1, failed=1, running=1),
            rid(2): FactoryCounts(total=1, succeeded=1),
            rid(3): FactoryCounts(),
        }

    def test_crashed_attempts_count_as_failed(self, history):
        history.start_run(rid(1), "p", started_at=T0)
        attempt(history, rid(1), "A", "running")
        history.mark_crashed(rid(1), at=T0 + 5)
        counts = history.factory_counts([rid(1)])
        assert counts[rid(1)] == FactoryCounts(total=1, failed=1)


class TestLatestRuns:
    def test_the_newest_run_of_each_status_and_of_any(self, history):
        history.start_run(rid(1), "p", started_at=T0)
        history.finish_run(rid(1), "succeeded", finished_at=T0 + 1)
        history.start_run(rid(2), "p", started_at=T0 + 2)
        history.finish_run(rid(2), "failed", finished_at=T0 + 3)
        history.start_run(rid(3), "p", started_at=T0 + 4)
        history.finish_run(rid(3), "succeeded", finished_at=T0 + 5)
        history.start_run(rid(4), "other", started_at=T0 + 6)  # newer, elsewhere
        history.finish_run(rid(4), "crashed", finished_at=T0 + 7)
        found = history.latest_runs("p", [None, "succeeded", "failed", "crashed"])
        assert list(found) == [None, "succeeded", "failed", "crashed"]
        assert found[None] == history.get_run(rid(3))
        assert found["succeeded"] == history.get_run(rid(3))
        assert found["failed"] == history.get_run(rid(2))
        assert found["crashed"] is None
        # The same answers as one list_runs call each.
        for status, run in found.items():
            page = history.list_runs(pipeline="p", status=status, limit=1)
            assert (page.items[0] if page.items else None) == run

    def test_a_running_run_answers_any_status_only(self, history):
        history.start_run(rid(1), "p", started_at=T0)
        found = history.latest_runs("p", ["succeeded", None, None])
        assert found == {"succeeded": None, None: history.get_run(rid(1))}
        assert history.latest_runs("p", []) == {}
        assert history.latest_runs("nobody", [None]) == {None: None}
