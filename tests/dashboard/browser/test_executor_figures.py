"""The run page: a factory's row opens to its Spark figures, per executor too."""

from __future__ import annotations

import time

import pytest

from pysetl.monitoring.history import FinishAttempt, SqliteRunHistory, StartAttempt
from pysetl.monitoring.metrics import FactoryMetrics, SparkFigures

pytestmark = pytest.mark.browser

RUN = "01CLUSTER0000000000000001"


def test_the_factory_detail_shows_tasks_per_executor_gc_and_peak_memory(
    page, serving, tmp_path
):
    history = SqliteRunHistory(tmp_path / "cluster.db")
    now = time.time()
    history.start_run(RUN, "tpch", started_at=now - 60)
    history.apply([StartAttempt(RUN, 1, "SegmentRevenue", 1, now - 50)])
    history.apply(
        [
            FinishAttempt(
                RUN, 1, "SegmentRevenue", 1, "succeeded", now - 40, 10.0, {"read": 10.0}
            )
        ]
    )
    spark = SparkFigures(
        jobs=3,
        tasks=21,
        jvm_gc_seconds=0.5,
        peak_execution_memory_bytes=3 * 1024 * 1024,
        executor_tasks=(("0", 12), ("1", 9)),
    )
    metrics = FactoryMetrics(
        run_id=RUN,
        pipeline="tpch",
        stage_id=1,
        factory="SegmentRevenue",
        attempt=1,
        status="succeeded",
        duration_seconds=10.0,
        phases={"read": 10.0},
        spark=spark,
    )
    # the rows the metrics collector writes for this attempt
    for name, value, labels in metrics.samples(durations=False):
        history.record_metric(
            RUN, name, value, factory="SegmentRevenue", labels=labels, ts=now - 40
        )
    history.finish_run(RUN, "succeeded", finished_at=now - 30)
    try:
        with serving(history) as dashboard:
            page.goto(f"{dashboard.url}#/runs/{RUN}")
            row = page.wait_for_selector('tr[data-factory="SegmentRevenue"]')
            row.click()
            detail = page.wait_for_selector("#factories-table tr.detail:not([hidden])")
            chips = {
                chip.query_selector("b").text_content(): chip.text_content()
                for chip in detail.query_selector_all(".chip")
            }
    finally:
        history.close()
    assert chips["spark_executor_tasks{executor=0}"].endswith("12")
    assert chips["spark_executor_tasks{executor=1}"].endswith("9")
    assert "3" in chips["spark_peak_execution_memory_bytes"]  # 3.0 MiB, as formatted
    assert "MiB" in chips["spark_peak_execution_memory_bytes"]
    assert "spark_jvm_gc_seconds" in chips
    assert page.errors == []
