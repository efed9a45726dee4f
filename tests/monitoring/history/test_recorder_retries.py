"""The history recorder keeps retries and skipped factories as events."""

from __future__ import annotations

import time

from typing_extensions import Self

from pysetl.monitoring.history import HistoryRecorder, InMemoryRunHistory
from pysetl.utils.writer import BackgroundWriter
from pysetl.workflow import Factory, HookManager, Pipeline
from pysetl.workflow.retry import RetryPolicy

CALLS: list[int] = []


class Flaky(Factory[int], retry=RetryPolicy(max_attempts=2, delay=0.002, jitter=0)):
    def read(self) -> Self:
        return self

    def process(self) -> Self:
        CALLS.append(1)
        if len(CALLS) == 1:
            msg = "password=hunter22 refused"  # a secret in the message: masked
            raise ConnectionError(msg)
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return 1


def test_retries_and_skips_are_recorded_as_events():
    CALLS.clear()
    history = InMemoryRunHistory()
    writer = BackgroundWriter()
    recorder = HistoryRecorder(history, writer=writer)
    hooks = HookManager(observers=[recorder])
    pipeline = Pipeline(hooks=hooks, name="retried").add_stage_from_type(Flaky).run()
    run_id = pipeline.run_id
    assert run_id is not None
    hooks.emit(
        "on_factory_skipped",
        run_id=run_id,
        pipeline=pipeline,
        pipeline_name="retried",
        timestamp=time.time(),
        stage_id=0,
        factory=None,
        factory_name="Flaky",
        reason="read back from checkpoint",
    )
    recorder.close()
    writer.close(5)
    (retried,) = history.list_events(run_id, name="on_factory_retried").items
    assert (retried.stage_id, retried.factory, retried.attempt) == (0, "Flaky", 1)
    assert retried.data["delay"] == 0.002
    assert retried.data["next_attempt"] == 2
    assert retried.data["cause_type"] == "ConnectionError"
    assert "hunter22" not in str(retried.data)
    (skipped,) = history.list_events(run_id, name="on_factory_skipped").items
    assert (skipped.factory, skipped.data) == (
        "Flaky",
        {"reason": "read back from checkpoint"},
    )
    attempts = history.list_factory_attempts(run_id).items
    assert [(a.attempt, a.status) for a in attempts] == [
        (1, "failed"),
        (2, "succeeded"),
    ]
