"""``HistoryRecorder`` against real pipeline runs, on every store."""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import pytest
from typing_extensions import Self

from pysetl.errors import DependencyResolutionError, FactoryError, RunHistoryError
from pysetl.monitoring.history import (
    HistoryLogHandler,
    HistoryRecorder,
    InMemoryRunHistory,
)
from pysetl.utils.writer import BackgroundWriter
from pysetl.workflow import Delivery, Factory, HookManager, Pipeline, Stage


class Produce(Factory[int]):
    def read(self) -> Self:
        return self

    def process(self) -> Self:
        self.value = 21
        logging.getLogger("jobs.produce").info("produced %d", self.value)
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return self.value


class Double(Factory[int]):
    number = Delivery[int](producer=Produce)

    def read(self) -> Self:
        self.value = self.number.get()
        return self

    def process(self) -> Self:
        self.value *= 2
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return self.value


class Explode(Factory[int]):
    number = Delivery[int](producer=Produce)

    def read(self) -> Self:
        return self

    def process(self) -> Self:
        try:
            {}["missing"]
        except KeyError as exc:
            msg = "bad number"
            raise ValueError(msg) from exc
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return 0


class NeedsText(Factory[int]):
    text = Delivery[str]()

    def read(self) -> Self:
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return 0


class BrokenStore(InMemoryRunHistory):
    """A store whose writes always fail (a test double, not a mock)."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error
        self.calls = 0

    def _apply(self, ops):
        self.calls += 1
        raise self.error


class SlowStore(InMemoryRunHistory):
    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def _apply(self, ops):
        time.sleep(self.delay)
        super()._apply(ops)


@pytest.fixture
def recorder(history):
    with HistoryRecorder(history) as rec:
        yield rec


def run_pipeline(recorder, *factories, name="daily"):
    pipeline = Pipeline(hooks=HookManager(observers=[recorder]), name=name)
    for factory in factories:
        pipeline.add_stage_from_type(factory)
    try:
        pipeline.run()
    finally:
        pipeline.hooks.close()
    return pipeline


class TestRecordedRuns:
    def test_a_successful_run_is_recorded_whole(self, history, recorder):
        pipeline = run_pipeline(recorder, Produce, Double)
        run = history.get_run(pipeline.run_id)
        assert run.status == "succeeded"
        assert run.pipeline == "daily"
        assert run.duration >= 0
        assert run.error is None
        stages = history.list_stage_runs(run.run_id).items
        assert [(s.stage_id, s.status) for s in stages] == [
            (0, "succeeded"),
            (1, "succeeded"),
        ]
        attempts = history.list_factory_attempts(run.run_id).items
        assert [(a.factory, a.status, a.attempt) for a in attempts] == [
            ("Produce", "succeeded", 1),
            ("Double", "succeeded", 1),
        ]
        assert set(attempts[0].phases) >= {"read", "process", "get"}
        assert attempts[0].duration >= 0
        events = [e.name for e in history.list_events(run.run_id).items]
        assert events == [
            "before_pipeline_run",
            "before_stage_run",
            "after_stage_run",
            "before_stage_run",
            "after_stage_run",
            "after_pipeline_run",
        ]
        # Durations live on the attempts, not copied as metrics (0.4).
        assert not history.list_metrics(run.run_id).items
        attempts = history.list_factory_attempts(run.run_id).items
        assert all(a.duration is not None for a in attempts)

    def test_a_failure_keeps_its_context_whole(self, history, recorder):
        pipeline = Pipeline(hooks=HookManager(observers=[recorder]), name="daily")
        pipeline.add_stage_from_type(Produce).add_stage_from_type(Explode)
        with pytest.raises(FactoryError):
            pipeline.run()
        pipeline.hooks.close()
        run = history.get_run(pipeline.run_id)
        assert run.status == "failed"
        error = run.error
        assert error["error_type"] == "FactoryError"
        assert error["run_id"] == pipeline.run_id
        assert error["pipeline"] == "daily"
        assert error["stage"] == 1
        assert error["factory"] == "Explode"
        assert error["attempt"] == 1
        assert error["phase"] == "process"
        assert "bad number" in error["message"]
        assert "Explode.process" in error["hint"]
        assert error["causes"] == [
            {"error_type": "ValueError", "message": "bad number"},
            {"error_type": "KeyError", "message": "'missing'"},
        ]
        assert "raise ValueError(msg) from exc" in error["traceback"]
        failed = history.list_factory_attempts(run.run_id, factory="Explode").items[0]
        assert failed.status == "failed"
        assert failed.phase == "process"
        assert failed.error == error
        stage = history.list_stage_runs(run.run_id).items[1]
        assert stage.status == "failed"
        assert stage.error["factory"] == "Explode"
        last = history.list_events(run.run_id).items[-1]
        assert last.name == "on_pipeline_run_failed"
        assert last.data["error_type"] == "FactoryError"

    def test_a_failed_preflight_is_recorded_as_a_failed_run(self, history, recorder):
        pipeline = Pipeline(hooks=HookManager(observers=[recorder]), name="wired")
        pipeline.add_stage_from_type(NeedsText)
        with pytest.raises(DependencyResolutionError):
            pipeline.run()
        pipeline.hooks.close()
        run = history.get_run(pipeline.run_id)
        assert run.status == "failed"
        assert run.error["error_type"] == "DependencyResolutionError"
        assert run.error["problems"]
        assert [e.name for e in history.list_events(run.run_id).items] == [
            "on_pipeline_run_failed"
        ]

    def test_runs_in_parallel_stages_are_recorded(self, local_history):
        with HistoryRecorder(local_history) as recorder:
            pipeline = Pipeline(
                hooks=HookManager(observers=[recorder], inline=True), parallel=True
            )
            pipeline.add_stage_from_type(Produce).add_stage_from_type(Double)
            pipeline.run()
        attempts = local_history.list_factory_attempts(pipeline.run_id).items
        assert {a.status for a in attempts} == {"succeeded"}

    def test_the_config_version_is_stored_with_the_run(self, local_history):
        with HistoryRecorder(local_history, config_version="cfg-1") as recorder:
            pipeline = run_pipeline(recorder, Produce)
        assert local_history.get_run(pipeline.run_id).config_version == "cfg-1"


class TestRepeatedFactories:
    def test_instances_of_one_class_are_recorded_under_distinct_names(
        self, history, recorder
    ):
        """Three instances of one class in a stage, and a fourth in a later stage."""
        stage = Stage()
        for _ in range(3):
            stage.add_factory(Produce())
        pipeline = Pipeline(hooks=HookManager(observers=[recorder]), name="fan")
        pipeline.add_stage(stage).add_stage_from_factory(Produce())
        try:
            pipeline.run()
        finally:
            pipeline.hooks.close()
        attempts = history.list_factory_attempts(pipeline.run_id).items
        assert [(a.stage_id, a.factory, a.status) for a in attempts] == [
            (0, "Produce", "succeeded"),
            (0, "Produce#2", "succeeded"),
            (0, "Produce#3", "succeeded"),
            (1, "Produce#4", "succeeded"),
        ]
        assert recorder.failed_batches == 0
        assert recorder.dropped == 0


class TestWriter:
    def test_batches_respect_the_size(self, local_history):
        writer = BackgroundWriter(batch_size=2)
        with HistoryRecorder(local_history, writer=writer) as recorder:
            run_pipeline(recorder, Produce, Double)
            assert recorder.written >= 16  # run, 2 stages, 2 attempts, events
            assert recorder.failed_batches == 0
        writer.close()

    def test_a_failing_store_never_fails_the_run(self, caplog):
        store = BrokenStore(RunHistoryError("down"))
        writer = BackgroundWriter(retries=1, backoff=0.001)
        with HistoryRecorder(store, writer=writer) as recorder:
            pipeline = run_pipeline(recorder, Produce, Double)
            assert pipeline.get_last_output() == 42
            assert recorder.failed_batches >= 1
        assert store.calls >= 2  # retried
        assert "lost" in caplog.text
        writer.close()

    def test_a_buggy_store_is_survived_too(self):
        store = BrokenStore(TypeError("bug"))
        writer = BackgroundWriter(retries=0)
        with HistoryRecorder(store, writer=writer) as recorder:
            run_pipeline(recorder, Produce)
            assert recorder.failed_batches >= 1
        writer.close()

    def test_flush_times_out_on_a_slow_store(self):
        recorder = HistoryRecorder(SlowStore(0.3))
        recorder.history.start_run("01A", "p")
        recorder.submit(*[_event("01A")] * 3)
        assert recorder.flush(timeout=0.01) is False
        assert recorder.flush(timeout=5) is True
        recorder.close()

    def test_a_full_queue_drops_new_operations(self, caplog):
        writer = BackgroundWriter(max_pending=5)
        recorder = HistoryRecorder(SlowStore(0.5), writer=writer)
        recorder.history.start_run("01A", "p")
        recorder.submit(*[_event("01A")] * 4)
        recorder.submit(*[_event("01A")] * 2)
        recorder.submit(*[_event("01A")] * 3)
        assert recorder.dropped == 4
        assert caplog.text.count("dropping work") == 1
        recorder.close()
        assert len(recorder.history.list_events("01A").items) == 5
        writer.close()

    def test_close_is_idempotent_and_the_recorder_restarts(self):
        history = InMemoryRunHistory()
        recorder = HistoryRecorder(history)
        recorder.close()
        recorder.submit(_event("01A"))
        recorder.close()
        recorder.close()
        assert len(history.list_events("01A").items) == 1


def _event(run_id):
    from pysetl.monitoring.history.ops import AddEvent

    return AddEvent(run_id, time.time(), "custom")


class TestHeartbeat:
    def test_a_running_run_beats_until_it_ends(self, local_history, wait_for):
        recorder = HistoryRecorder(local_history, heartbeat_interval=0.02)
        start = time.time() - 10
        recorder.before_pipeline_run(run_id="01HB", pipeline_name="p", timestamp=start)

        def beaten():
            run = local_history.find_run("01HB")
            return run is not None and run.heartbeat_at > start + 5

        wait_for(beaten)
        recorder.after_pipeline_run(run_id="01HB", timestamp=time.time(), duration=1)
        beat = local_history.get_run("01HB").heartbeat_at
        time.sleep(0.1)
        assert local_history.get_run("01HB").heartbeat_at == beat
        assert local_history.get_run("01HB").status == "succeeded"
        recorder.close()


class TestLogHandler:
    def test_lines_go_to_the_running_run_or_the_given_one(self, local_history):
        recorder = HistoryRecorder(local_history)
        handler = HistoryLogHandler(recorder)
        logger = logging.getLogger("pysetl.tests.history")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        try:
            logger.info("before any run")
            recorder.before_pipeline_run(
                run_id="01LOG", pipeline_name="p", timestamp=time.time()
            )
            logger.warning("inside %s", "the run")
            logger.debug("too low")
            logger.info("explicit", extra={"run_id": "01OTHER", "factory": "Load"})
            logger.info("bad %d format", "x")  # handled, never raised
            recorder.flush()
        finally:
            logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)
            logger.propagate = True
            recorder.close()
        lines = local_history.search_logs("01LOG").items
        assert [(g.level, g.message, g.logger) for g in lines] == [
            ("WARNING", "inside the run", "pysetl.tests.history")
        ]
        other = local_history.search_logs("01OTHER").items
        assert [(g.factory, g.message) for g in other] == [("Load", "explicit")]
        assert [g.run_id for g in local_history.search_logs(text="before").items] == [
            None
        ]

    def test_a_factorys_lines_carry_its_run_and_name_without_a_filter(
        self, local_history
    ):
        """No ContextFilter: the run scope of the factory's thread names it."""
        recorder = HistoryRecorder(local_history)
        handler = HistoryLogHandler(recorder)
        logger = logging.getLogger("jobs.produce")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            pipeline = run_pipeline(recorder, Produce)
            recorder.flush()
        finally:
            logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)
            recorder.close()
        lines = local_history.search_logs(pipeline.run_id, text="produced").items
        assert [(g.factory, g.message) for g in lines] == [("Produce", "produced 21")]

    def test_no_current_run_when_two_are_running(self):
        recorder = HistoryRecorder(InMemoryRunHistory())
        assert recorder.current_run() is None
        for rid in ("01A", "01B"):
            recorder.before_pipeline_run(run_id=rid, pipeline_name="p", timestamp=0.0)
        assert recorder.current_run() is None
        recorder.close()


class TestThreads:
    def test_it_starts_no_thread_of_its_own_and_close_stops_the_heartbeat(self):
        writer = BackgroundWriter()
        before = set(threading.enumerate())
        recorder = HistoryRecorder(
            InMemoryRunHistory(), heartbeat_interval=0.01, writer=writer
        )
        recorder.before_pipeline_run(run_id="01T", pipeline_name="p", timestamp=0.0)
        started = set(threading.enumerate()) - before
        assert {t.name for t in started} == {"pysetl-writer"}
        assert recorder._ticker is not None
        recorder.close()
        assert recorder._ticker is None
        writer.close()
        assert not any(t.name == "pysetl-writer" and t.is_alive() for t in started)


class CountingWriter(BackgroundWriter):
    """A writer that counts the drains asked of it."""

    def __init__(self) -> None:
        super().__init__(name="counting-writer")
        self.drains = 0

    def drain(self, timeout: float = 10.0) -> bool:
        self.drains += 1
        return super().drain(timeout)


class TestRunEnd:
    @pytest.mark.parametrize("factories", [(Produce, Double), (Produce, Explode)])
    def test_the_run_waits_for_the_writer_once_and_its_history_is_complete(
        self, local_history, factories
    ):
        """The recorder leaves its end-of-run wait to the pipeline's drain."""
        writer = CountingWriter()
        try:
            recorder = HistoryRecorder(local_history, writer=writer)
            hooks = HookManager(observers=[recorder], writer=writer)
            pipeline = Pipeline(hooks=hooks, name="once")
            for factory in factories:
                pipeline.add_stage_from_type(factory)
            with contextlib.suppress(FactoryError):
                pipeline.run()
            assert writer.drains == 1
            run = local_history.get_run(pipeline.run_id)  # before any close
            assert run.status == ("failed" if Explode in factories else "succeeded")
            assert run.finished_at is not None
        finally:
            writer.close()
