"""record_run, temporary_history and the history and recorder fixtures."""

from __future__ import annotations

import pytest
from typing_extensions import Self

from pysetl.errors import FactoryError
from pysetl.monitoring.history import (
    HistoryRecorder,
    InMemoryRunHistory,
    SqliteRunHistory,
)
from pysetl.testing import HISTORY_KINDS, record_run, temporary_history
from pysetl.workflow import Delivery, Factory, HookManager, Pipeline


class Extract(Factory[list[int]]):
    def read(self) -> Self:
        return self

    def process(self) -> Self:
        self.rows = [1, 2, 3]
        return self

    def write(self) -> Self:
        return self

    def get(self) -> list[int]:
        return self.rows


class Load(Factory[int]):
    rows = Delivery[list[int]](producer=Extract)

    def read(self) -> Self:
        self.data = self.rows.get()
        return self

    def process(self) -> Self:
        self.total = sum(self.data)
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return self.total


class Broken(Factory[int]):
    def read(self) -> Self:
        return self

    def process(self) -> Self:
        msg = "no input today"
        raise RuntimeError(msg)

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return 0


def daily() -> Pipeline:
    return Pipeline(name="daily").add_stage_from_type(Extract).add_stage_from_type(Load)


class TestTemporaryHistory:
    def test_kinds(self, tmp_path):
        assert HISTORY_KINDS == ("memory", "sqlite")
        assert isinstance(temporary_history(), InMemoryRunHistory)
        sqlite = temporary_history("sqlite", tmp_path)
        assert isinstance(sqlite, SqliteRunHistory)
        assert (tmp_path / "history.db").exists()
        sqlite.close()

    def test_sqlite_needs_a_directory_and_kinds_are_checked(self):
        with pytest.raises(ValueError, match="needs a directory"):
            temporary_history("sqlite")
        with pytest.raises(ValueError, match="unknown history kind 'postgres'"):
            temporary_history("postgres")


@pytest.mark.parametrize("pysetl_history", HISTORY_KINDS, indirect=True)
class TestRecordRun:
    def test_a_real_run_is_recorded_completely(self, pysetl_history):
        pipeline = daily()
        run_id = record_run(pipeline, pysetl_history)
        assert run_id == pipeline.run_id
        assert pipeline.get_last_output() == 6
        run = pysetl_history.get_run(run_id)
        assert (run.pipeline, run.status) == ("daily", "succeeded")
        attempts = pysetl_history.list_factory_attempts(run_id).items
        assert [(a.stage_id, a.factory, a.status) for a in attempts] == [
            (0, "Extract", "succeeded"),
            (1, "Load", "succeeded"),
        ]
        events = pysetl_history.list_events(run_id).items
        assert events[0].name == "before_pipeline_run"
        assert events[0].data["graph"]["edges"] == [
            {"source": "Extract", "target": "Load", "delivery": "rows"}
        ]
        assert events[-1].name == "after_pipeline_run"

    def test_runs_accumulate(self, pysetl_history):
        first = record_run(daily(), pysetl_history)
        second = record_run(daily(), pysetl_history)
        assert first != second
        runs = pysetl_history.list_runs(pipeline="daily").items
        assert [r.run_id for r in runs] == [second, first]

    def test_a_failed_run_raises_by_default_and_is_recorded(self, pysetl_history):
        pipeline = Pipeline(name="bad").add_stage_from_type(Broken)
        with pytest.raises(FactoryError):
            record_run(pipeline, pysetl_history)
        run = pysetl_history.get_run(pipeline.run_id)
        assert run.status == "failed"

    def test_check_false_returns_the_failed_runs_id(self, pysetl_history):
        run_id = record_run(
            Pipeline(name="bad").add_stage_from_type(Broken),
            pysetl_history,
            check=False,
        )
        run = pysetl_history.get_run(run_id)
        assert run.status == "failed"
        assert run.error["error_type"] == "FactoryError"
        assert run.error["factory"] == "Broken"
        (attempt,) = pysetl_history.list_factory_attempts(run_id).items
        assert (attempt.status, attempt.phase) == ("failed", "process")

    def test_the_spark_session_is_handed_to_the_pipeline(self, pysetl_history):
        marker = object()
        pipeline = daily()
        record_run(pipeline, pysetl_history, spark=marker)
        assert pipeline.spark is marker


class TestRecorderFixture:
    def test_records_a_pipeline_run_into_the_history(
        self, pysetl_recorder, pysetl_history
    ):
        assert isinstance(pysetl_recorder, HistoryRecorder)
        assert pysetl_recorder.history is pysetl_history
        pipeline = daily()
        pipeline.hooks = HookManager(observers=[pysetl_recorder])
        pipeline.run()
        run = pysetl_history.get_run(pipeline.run_id)
        assert run.status == "succeeded"

    def test_the_history_is_in_memory_by_default(self, pysetl_history):
        assert isinstance(pysetl_history, InMemoryRunHistory)
        assert pysetl_history.list_runs().items == ()
