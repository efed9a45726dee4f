"""Debug mode: the tracer logs each lifecycle step with timings and shapes."""

from __future__ import annotations

import logging
import threading

import pytest

from pysetl.errors import FactoryError
from pysetl.logs import ContextFilter
from pysetl.workflow import Deliverable, Delivery, Pipeline, Stage
from pysetl.workflow._debug import DebugTracer, describe_shape
from pysetl.workflow.hooks import (
    HookManager,
    default_hook_manager,
    hook_impl,
    reset_default_hook_manager,
)

from .conftest import make_factory


def _pipeline(hooks: HookManager, compute=lambda x: x + 1, payload=1) -> Pipeline:
    source = make_factory("Source", int, compute=lambda n: n, n=Delivery[int]())
    double = make_factory(
        "Double", int, compute=compute, x=Delivery[int](producer=source)
    )
    return (
        Pipeline(hooks=hooks, name="traced")
        .set_input_from_deliverable(Deliverable[int](payload))
        .add_stage_from_type(source)
        .add_stage_from_type(double)
    )


def _events(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "pysetl.debug"]


class TestDebugTracer:
    def test_traces_every_step_with_timings_and_shapes(self, caplog):
        caplog.set_level(logging.DEBUG, logger="pysetl.debug")
        with HookManager(observers=[DebugTracer()]) as hooks:
            pipeline = _pipeline(hooks)
            pipeline.run()
        records = _events(caplog)
        assert [r.getMessage() for r in records] == [
            "pipeline_started",
            "stage_started",
            "factory_started",
            "factory_finished",
            "stage_finished",
            "stage_started",
            "factory_started",
            "factory_finished",
            "stage_finished",
            "pipeline_finished",
        ]
        finished = records[7]
        assert finished.run_id == pipeline.run_id
        assert (finished.pipeline, finished.stage) == ("traced", 1)
        assert (finished.factory, finished.attempt) == ("Double", 1)
        assert set(finished.phases_ms) == {"read", "process", "write", "get"}
        assert finished.duration_ms >= 0
        assert finished.inputs == {"x": {"type": "builtins.int"}}
        assert finished.output == {"type": "builtins.int"}
        assert records[5].factories == ["Double"]

    def test_traces_failures(self, caplog):
        caplog.set_level(logging.DEBUG, logger="pysetl.debug")

        def boom(x):
            raise KeyError(x)

        with (
            HookManager(observers=[DebugTracer()]) as hooks,
            pytest.raises(FactoryError),
        ):
            _pipeline(hooks, compute=boom).run()
        names = [r.getMessage() for r in _events(caplog)]
        assert names[-3:] == ["factory_failed", "stage_failed", "pipeline_failed"]
        failed = _events(caplog)[-3]
        assert (failed.phase, failed.error_type) == ("process", "FactoryError")
        assert failed.error_class is None

    def test_is_silent_unless_debug_is_enabled(self, caplog):
        caplog.set_level(logging.INFO, logger="pysetl.debug")
        with HookManager(observers=[DebugTracer()]) as hooks:
            _pipeline(hooks).run()
        assert _events(caplog) == []

    def test_is_delivered_in_the_runs_thread(self):
        seen: list[str] = []

        class Where(DebugTracer):
            @hook_impl
            def after_factory_run(self, *, factory_name: str) -> None:
                seen.append(f"{factory_name}@{threading.current_thread().name}")

        with HookManager(observers=[Where()]) as hooks:
            _pipeline(hooks).run()
        here = threading.current_thread().name
        assert seen == [f"Source@{here}", f"Double@{here}"]


class TestInlineDelivery:
    def test_one_plugin_inline_the_others_queued(self):
        threads: dict[str, str] = {}

        class Queued:
            @hook_impl
            def after_pipeline_run(self) -> None:
                threads["queued"] = threading.current_thread().name

        class Inline:
            pysetl_inline = True

            @hook_impl
            def after_pipeline_run(self) -> None:
                threads["inline"] = threading.current_thread().name

        with HookManager(observers=[Queued(), Inline()]) as hooks:
            assert hooks.enabled
            _pipeline(hooks).run()
        assert threads == {
            "inline": threading.current_thread().name,
            "queued": "pysetl-writer",
        }

    def test_only_inline_observers_still_enable_the_manager(self):
        class Inline:
            pysetl_inline = True

            @hook_impl
            def before_pipeline_run(self) -> None:
                """Nothing to do."""

        hooks = HookManager(observers=[Inline()])
        assert hooks.enabled
        hooks.emit("before_pipeline_run")
        hooks.emit("after_pipeline_run")
        hooks.close()


class TestDefaultManager:
    def test_debug_mode_registers_the_tracer(self, monkeypatch):
        reset_default_hook_manager()
        monkeypatch.setenv("PYSETL_DEBUG", "1")
        monkeypatch.setenv("PYSETL_DISABLE_HOOKS", "all")
        try:
            observers = default_hook_manager().observers
            assert any(isinstance(p, DebugTracer) for p in observers)
        finally:
            reset_default_hook_manager()

    def test_no_tracer_by_default(self, monkeypatch):
        reset_default_hook_manager()
        monkeypatch.delenv("PYSETL_DEBUG", raising=False)
        monkeypatch.setenv("PYSETL_DISABLE_HOOKS", "all")
        try:
            assert default_hook_manager().observers == []
        finally:
            reset_default_hook_manager()


class TestDescribeShape:
    def test_collections_have_a_length_never_values(self):
        assert describe_shape([1, 2, 3]) == {"type": "builtins.list", "len": 3}
        assert describe_shape({"secret": "x"}) == {"type": "builtins.dict", "len": 1}
        assert describe_shape(None) == {"type": "builtins.NoneType"}

    def test_a_broken_schema_is_no_error(self):
        class Weird:
            columns = ("a",)

            class schema:  # noqa: N801 - mimics a DataFrame attribute
                @staticmethod
                def simpleString() -> str:
                    raise RuntimeError

        shape = describe_shape(Weird())
        assert shape["schema"] is None

    def test_a_dataframe_has_its_schema_and_partitions(self, spark):
        frame = spark.createDataFrame([(1, "a")], "id int, name string")
        shape = describe_shape(frame)
        assert shape["schema"] == "struct<id:int,name:string>"
        assert shape["partitions"] >= 1
        assert "pyspark" in shape["type"]


class TestUserLogsCarryTheContext:
    def test_in_pool_threads_too(self, caplog):
        """Users' own log calls in a parallel stage get their own factory's context."""
        caplog.set_level(logging.INFO, logger="user.code")
        user = logging.getLogger("user.code")
        handler = logging.Handler()
        handler.addFilter(ContextFilter())
        seen: list[tuple[str, str, str]] = []
        handler.emit = lambda r: seen.append((r.run_id, r.factory, r.phase))  # type: ignore[method-assign]
        user.addHandler(handler)

        def talk(x):
            user.info("working")
            return x

        first = make_factory("First", int, compute=talk, x=Delivery[int]())
        second = make_factory("Second", int, compute=talk, x=Delivery[int]())
        stage = Stage(parallel=True).add_factory_from_type(first)
        stage.add_factory_from_type(second)
        try:
            pipeline = (
                Pipeline(hooks=HookManager(), name="pool")
                .set_input_from_deliverable(Deliverable[int](1))
                .add_stage(stage)
                .run()
            )
        finally:
            user.removeHandler(handler)
        assert sorted(seen) == [
            (pipeline.run_id, "First", "process"),
            (pipeline.run_id, "Second", "process"),
        ]
