"""The run page shows every attempt of a retried factory (chromium)."""

from __future__ import annotations

import pytest
from typing_extensions import Self

from pysetl.monitoring.history import HistoryRecorder, SqliteRunHistory
from pysetl.monitoring.metrics import MetricsCollector
from pysetl.utils.writer import BackgroundWriter
from pysetl.workflow import Factory, HookManager, Pipeline
from pysetl.workflow.retry import RetryPolicy

pytestmark = pytest.mark.browser

CALLS: list[int] = []


class Flaky(Factory[int], retry=RetryPolicy(max_attempts=3, delay=0.001, jitter=0)):
    def read(self) -> Self:
        return self

    def process(self) -> Self:
        CALLS.append(1)
        if len(CALLS) < 3:  # fails twice
            msg = f"the source dropped connection {len(CALLS)}"
            raise ConnectionError(msg)
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return len(CALLS)


def _retried_run(history: SqliteRunHistory) -> str:
    CALLS.clear()
    writer = BackgroundWriter()
    recorder = HistoryRecorder(history, writer=writer)
    metrics = MetricsCollector(history=history, keep_runs=0, writer=writer)
    pipeline = Pipeline(
        hooks=HookManager(observers=[recorder, metrics]), name="retries"
    )
    pipeline.add_stage_from_type(Flaky).run()
    metrics.close()
    recorder.close()
    writer.close(5)
    assert pipeline.run_id is not None
    return pipeline.run_id


def test_the_factories_table_lists_every_attempt(page, serving, tmp_path):
    history = SqliteRunHistory(tmp_path / "attempts.db")
    try:
        run_id = _retried_run(history)
        with serving(history) as dashboard:
            page.goto(f"{dashboard.url}#/runs/{run_id}")
            page.wait_for_selector("#factories-table tr[data-factory='Flaky']")
            rows = page.locator("#factories-table tbody tr:not(.detail)")
            texts = [rows.nth(i).inner_text() for i in range(rows.count())]
            assert len(texts) == 3
            assert "succeeded" in texts[0]  # the last attempt first
            attempts = page.locator("#factories-table tr.attempt-row")
            assert [
                attempts.nth(i).get_attribute("data-attempt") for i in range(2)
            ] == ["2", "1"]
            assert "failed" in texts[1]
            assert "connection 2" in texts[1]
            assert "connection 1" in texts[2]
    finally:
        history.close()
    assert page.errors == []
