"""The span tree of runs, made from real pipelines into the SDK's in-memory exporter."""

from __future__ import annotations

import io
import itertools
import json
import logging
import threading
import uuid
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

from pysetl.errors import DependencyResolutionError, FactoryError
from pysetl.logs import configure_logging, reset_logging
from pysetl.monitoring.tracing import (
    ExportGuard,
    OpenTelemetryExporter,
    OpenTelemetryOptions,
    format_span_tree,
)
from pysetl.monitoring.tracing._export import GuardedLogExporter, GuardedSpanExporter
from pysetl.utils.redaction import MASK, register_secret
from pysetl.utils.writer import BackgroundWriter
from pysetl.workflow import Delivery, Factory, HookManager, Pipeline, Stage

DOCS = Path(__file__).resolve().parents[3] / "docs" / "integrations.md"
THREE_STAGE_TREE = """\
run shop pysetl.status='succeeded'
├── stage 0
│   └── factory Extract pysetl.status='succeeded'
│       ├── read
│       ├── process
│       ├── write
│       └── get
├── stage 1
│   └── factory Clean pysetl.status='succeeded'
│       ├── read
│       ├── process
│       ├── write
│       └── get
└── stage 2
    └── factory Load pysetl.status='succeeded'
        ├── read
        ├── process
        ├── write
        └── get"""


@pytest.fixture(autouse=True)
def _no_traceparent(monkeypatch):
    monkeypatch.delenv("TRACEPARENT", raising=False)
    monkeypatch.delenv("TRACESTATE", raising=False)


def _by_name(spans):
    return {span.name: span for span in spans}


def _run(pipeline):
    pipeline.run()
    pipeline.hooks.drain()  # type: ignore[union-attr]


class Chatty(Factory[int]):
    def read(self) -> Chatty:
        return self

    def process(self) -> Chatty:
        logging.getLogger("user.chatty").warning("processing")
        return self

    def write(self) -> Chatty:
        return self

    def get(self) -> int:
        return 1


class Broken(Factory[int]):
    secret = ""

    def read(self) -> Broken:
        return self

    def process(self) -> Broken:
        msg = f"cannot reach the warehouse with {Broken.secret}"
        raise ValueError(msg)

    def write(self) -> Broken:
        return self

    def get(self) -> int:
        return 0


class Needy(Factory[int]):
    rows = Delivery[bytes]()  # nobody delivers bytes

    def read(self) -> Needy:
        return self

    def process(self) -> Needy:
        return self

    def write(self) -> Needy:
        return self

    def get(self) -> int:
        return 0


class TestSpanTree:
    def test_a_three_stage_run_is_one_tree(self, make_exporter, memory, three_stages):
        exporter = make_exporter(span_exporter=memory)
        _run(three_stages(exporter))
        exporter.close()
        spans = memory.get_finished_spans()
        tree = format_span_tree(spans, ["pysetl.status"])
        assert tree == THREE_STAGE_TREE
        assert THREE_STAGE_TREE in DOCS.read_text(encoding="utf-8")  # as documented
        assert len(spans) == 1 + 3 + 3 * 5
        assert len({span.context.trace_id for span in spans}) == 1

    def test_parents_and_attributes(self, make_exporter, memory, three_stages):
        exporter = make_exporter(span_exporter=memory)
        pipeline = three_stages(exporter)
        _run(pipeline)
        exporter.close()
        spans = _by_name(memory.get_finished_spans())
        run = spans["run shop"]
        assert run.parent is None
        assert run.kind is SpanKind.INTERNAL
        run_id = run.attributes["pysetl.run_id"]
        assert run_id == pipeline.run_id
        assert run.attributes["pysetl.pipeline"] == "shop"
        for stage_id, factory in enumerate(("Extract", "Clean", "Load")):
            stage = spans[f"stage {stage_id}"]
            assert stage.parent.span_id == run.context.span_id
            assert stage.attributes["pysetl.stage_id"] == stage_id
            assert stage.attributes["pysetl.parallel"] is False
            made = spans[f"factory {factory}"]
            assert made.parent.span_id == stage.context.span_id
            assert dict(made.attributes) == {
                "pysetl.run_id": run_id,
                "pysetl.pipeline": "shop",
                "pysetl.stage_id": stage_id,
                "pysetl.factory": factory,
                "pysetl.attempt": 1,
                "pysetl.status": "succeeded",
            }
            assert made.status.status_code is StatusCode.UNSET
            assert stage.start_time <= made.start_time <= made.end_time
            assert made.end_time <= stage.end_time <= run.end_time
        assert spans["run shop"].attributes["pysetl.status"] == "succeeded"

    def test_phase_spans_follow_one_another_inside_their_factory(
        self, make_exporter, memory, three_stages
    ):
        exporter = make_exporter(span_exporter=memory)
        _run(three_stages(exporter))
        exporter.close()
        spans = memory.get_finished_spans()
        factory = next(s for s in spans if s.name == "factory Clean")
        phases = sorted(
            (
                s
                for s in spans
                if s.parent and s.parent.span_id == factory.context.span_id
            ),
            key=lambda s: s.start_time,
        )
        assert [s.name for s in phases] == ["read", "process", "write", "get"]
        assert all(s.attributes["pysetl.phase"] == s.name for s in phases)
        assert all(s.attributes["pysetl.factory"] == "Clean" for s in phases)
        for before, after in itertools.pairwise(phases):
            assert before.end_time == after.start_time
        assert factory.start_time <= phases[0].start_time
        assert phases[-1].end_time <= factory.end_time

    def test_phases_can_be_left_out(self, make_exporter, memory, three_stages):
        exporter = make_exporter(span_exporter=memory, phases=False)
        _run(three_stages(exporter))
        exporter.close()
        names = sorted(s.name for s in memory.get_finished_spans())
        assert names == [
            "factory Clean",
            "factory Extract",
            "factory Load",
            "run shop",
            "stage 0",
            "stage 1",
            "stage 2",
        ]

    def test_factories_of_a_parallel_stage_nest_under_it(self, make_exporter, memory):
        exporter = make_exporter(span_exporter=memory, phases=False)
        stage = Stage(parallel=True)
        other = _other()
        stage.add_factory_from_type(Chatty).add_factory_from_type(other)
        pipeline = Pipeline(name="fan", hooks=HookManager(observers=[exporter]))
        _run(pipeline.add_stage(stage))
        exporter.close()
        spans = _by_name(memory.get_finished_spans())
        assert spans["stage 0"].attributes["pysetl.parallel"] is True
        for name in ("factory Chatty", "factory Other"):
            assert spans[name].parent.span_id == spans["stage 0"].context.span_id


def _other() -> type[Factory[int]]:
    class Other(Factory[int]):
        def read(self) -> Other:
            return self

        def process(self) -> Other:
            return self

        def write(self) -> Other:
            return self

        def get(self) -> int:
            return 2

    return Other


class TestErrors:
    def test_a_failure_is_recorded_on_its_phase_factory_stage_and_run(
        self, make_exporter, memory
    ):
        secret = f"canary-{uuid.uuid4().hex}"
        register_secret(secret)
        Broken.secret = secret
        exporter = make_exporter(span_exporter=memory)
        pipeline = Pipeline(name="bad", hooks=HookManager(observers=[exporter]))
        with pytest.raises(FactoryError):
            pipeline.add_stage_from_type(Broken).run()
        pipeline.hooks.drain()
        exporter.close()
        spans = _by_name(memory.get_finished_spans())
        for name in ("process", "factory Broken", "stage 0", "run bad"):
            assert spans[name].status.status_code is StatusCode.ERROR, name
            event = next(e for e in spans[name].events if e.name == "exception")
            assert event.attributes["exception.type"] == "builtins.ValueError"
            assert MASK in event.attributes["exception.message"]
            assert "ValueError" in event.attributes["exception.stacktrace"]
        factory = spans["factory Broken"]
        assert factory.attributes["pysetl.status"] == "failed"
        assert factory.attributes["pysetl.failed_phase"] == "process"
        assert spans["run bad"].attributes["pysetl.status"] == "failed"
        assert "FactoryError" in factory.status.description
        assert [
            s.name
            for s in memory.get_finished_spans()
            if s.parent and s.parent.span_id == factory.context.span_id
        ] == ["read", "process"]
        dumped = "".join(span.to_json() for span in memory.get_finished_spans())
        assert secret not in dumped

    def test_a_failed_pre_flight_check_still_makes_a_failed_run_span(
        self, make_exporter, memory
    ):
        exporter = make_exporter(span_exporter=memory)
        pipeline = Pipeline(name="unwired", hooks=HookManager(observers=[exporter]))
        with pytest.raises(DependencyResolutionError):
            pipeline.add_stage_from_type(Needy).run()
        pipeline.hooks.drain()
        exporter.close()
        (span,) = memory.get_finished_spans()
        assert span.name == "run unwired"
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes["pysetl.status"] == "failed"
        assert trace.get_current_span() is trace.INVALID_SPAN  # nothing left current


class TestParent:
    TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
    SPAN_ID = "00f067aa0ba902b7"

    def test_a_traceparent_makes_the_run_a_child_of_the_callers_trace(
        self, make_exporter, memory, three_stages, monkeypatch
    ):
        monkeypatch.setenv("TRACEPARENT", f"00-{self.TRACE_ID}-{self.SPAN_ID}-01")
        monkeypatch.setenv("TRACESTATE", "vendor=task-7")
        exporter = make_exporter(span_exporter=memory)
        _run(three_stages(exporter))
        exporter.close()
        spans = memory.get_finished_spans()
        run = _by_name(spans)["run shop"]
        assert run.parent.is_remote
        assert f"{run.parent.span_id:016x}" == self.SPAN_ID
        assert {f"{s.context.trace_id:032x}" for s in spans} == {self.TRACE_ID}
        assert run.context.trace_state.get("vendor") == "task-7"

    def test_a_traceparent_can_be_ignored(
        self, make_exporter, memory, three_stages, monkeypatch
    ):
        monkeypatch.setenv("TRACEPARENT", f"00-{self.TRACE_ID}-{self.SPAN_ID}-01")
        exporter = make_exporter(span_exporter=memory, traceparent=False)
        _run(three_stages(exporter))
        exporter.close()
        run = _by_name(memory.get_finished_spans())["run shop"]
        assert run.parent is None
        assert f"{run.context.trace_id:032x}" != self.TRACE_ID

    def test_an_unsampled_traceparent_is_respected(
        self, make_exporter, memory, three_stages, monkeypatch
    ):
        monkeypatch.setenv("TRACEPARENT", f"00-{self.TRACE_ID}-{self.SPAN_ID}-00")
        exporter = make_exporter(span_exporter=memory)
        _run(three_stages(exporter))
        exporter.close()
        assert memory.get_finished_spans() == ()

    def test_the_callers_current_span_wins(
        self, make_exporter, memory, three_stages, monkeypatch
    ):
        monkeypatch.setenv("TRACEPARENT", f"00-{self.TRACE_ID}-{self.SPAN_ID}-01")
        caller_spans = InMemorySpanExporter()
        caller = TracerProvider(shutdown_on_exit=False)
        caller.add_span_processor(SimpleSpanProcessor(caller_spans))
        exporter = make_exporter(span_exporter=memory)
        with caller.get_tracer("orchestrator").start_as_current_span("task") as task:
            _run(three_stages(exporter))
        exporter.close()
        caller.shutdown()
        run = _by_name(memory.get_finished_spans())["run shop"]
        assert run.parent.span_id == task.get_span_context().span_id
        assert run.context.trace_id == task.get_span_context().trace_id


class TestLogCorrelation:
    def test_lines_logged_in_a_factory_carry_its_span(self, make_exporter, memory):
        out = io.StringIO()
        configure_logging("json", stream=out)
        try:
            exporter = make_exporter(span_exporter=memory)
            pipeline = Pipeline(name="talk", hooks=HookManager(observers=[exporter]))
            _run(pipeline.add_stage_from_type(Chatty))
            logging.getLogger("user.after").warning("after the run")
        finally:
            reset_logging()
        exporter.close()
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        during = next(line for line in lines if line["message"] == "processing")
        after = next(line for line in lines if line["message"] == "after the run")
        factory = _by_name(memory.get_finished_spans())["factory Chatty"]
        assert during["trace_id"] == f"{factory.context.trace_id:032x}"
        assert during["span_id"] == f"{factory.context.span_id:016x}"
        assert during["factory"] == "Chatty"
        assert after["trace_id"] is None  # the run's spans are no longer current


class TestLifecycle:
    def test_close_ends_what_is_still_open_and_is_idempotent(
        self, make_exporter, memory
    ):
        exporter = make_exporter(span_exporter=memory)
        exporter.before_pipeline_run(run_id="R1", pipeline_name="cut", timestamp=1.0)
        exporter.before_stage_run(
            run_id="R1", pipeline_name="cut", stage_id=0, parallel=False, timestamp=1.1
        )
        assert trace.get_current_span().is_recording()
        exporter.close()
        exporter.close()
        assert exporter.closed
        assert trace.get_current_span() is trace.INVALID_SPAN
        spans = _by_name(memory.get_finished_spans())
        assert spans["run cut"].attributes["pysetl.status"] == "unfinished"
        assert "stage 0" in spans

    def test_events_of_spans_it_never_started_are_ignored(self, make_exporter, memory):
        exporter = make_exporter(span_exporter=memory)
        exporter.after_pipeline_run(run_id="X", timestamp=2.0)
        exporter.after_stage_run(run_id="X", stage_id=0, timestamp=2.0)
        exporter.after_factory_run(
            run_id="X",
            pipeline_name="p",
            stage_id=0,
            factory_name="F",
            attempt=1,
            timestamp=2.0,
            duration=1.0,
            phases={},
        )
        exporter.close()
        assert memory.get_finished_spans() == ()

    def test_a_factory_outside_a_stage_hangs_under_the_run(self, make_exporter, memory):
        exporter = make_exporter(span_exporter=memory, phases=False)
        common = {"run_id": "R", "pipeline_name": "p"}
        exporter.before_pipeline_run(**common, timestamp=1.0)
        exporter.before_factory_run(
            run_id="R", stage_id=3, factory_name="F", attempt=2, timestamp=1.5
        )
        exporter.after_factory_run(
            **common,
            stage_id=3,
            factory_name="F",
            attempt=2,
            timestamp=2.0,
            duration=0.5,
            phases={"read": 0.5},
        )
        exporter.after_pipeline_run(run_id="R", timestamp=3.0)
        exporter.close()
        spans = _by_name(memory.get_finished_spans())
        assert spans["factory F"].parent.span_id == spans["run p"].context.span_id
        assert spans["factory F"].attributes["pysetl.attempt"] == 2
        assert spans["run p"].start_time == 1_000_000_000
        assert spans["run p"].end_time == 3_000_000_000

    def test_the_sessions_writer_is_used(self, make_exporter, memory):
        writer = BackgroundWriter()
        try:
            exporter = make_exporter(span_exporter=memory)

            class FakeSession:
                pass

            session = FakeSession()
            session.writer = writer  # type: ignore[attr-defined]
            exporter.pysetl_attach(session)
            assert exporter.writer is writer
        finally:
            writer.close(2)

    def test_built_from_validated_options(self, memory):
        options = OpenTelemetryOptions(service_name="shop-etl", phases=False)
        exporter = OpenTelemetryExporter.from_options(options, span_exporter=memory)
        try:
            assert exporter.options is options
            assert exporter.provider.resource.attributes["service.name"] == "shop-etl"
        finally:
            exporter.close()

    def test_the_service_name_defaults_to_the_environment_then_pysetl(
        self, make_exporter, memory, monkeypatch
    ):
        monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
        monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
        plain = make_exporter(span_exporter=memory)
        assert plain.provider.resource.attributes["service.name"] == "pysetl"
        monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
        named = make_exporter(span_exporter=memory)
        assert named.provider.resource.attributes["service.name"] == "from-env"
        given = make_exporter(span_exporter=memory, service_name="given")
        assert given.provider.resource.attributes["service.name"] == "given"

    def test_the_resource_is_detected_once_per_options_and_environment(
        self, monkeypatch
    ):
        # Detection costs milliseconds at every session's start otherwise.
        from pysetl.monitoring.tracing import OpenTelemetryOptions
        from pysetl.monitoring.tracing._providers import resource_of

        monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
        options = OpenTelemetryOptions(service_name="etl")
        first = resource_of(options)
        assert resource_of(OpenTelemetryOptions(service_name="etl")) is first
        monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "team=data")
        changed = resource_of(options)
        assert changed is not first
        assert changed.attributes["team"] == "data"
        assert resource_of(OpenTelemetryOptions(service_name="other")) is not changed

    def test_resource_attributes(self, make_exporter, memory, three_stages):
        exporter = make_exporter(
            span_exporter=memory,
            service_name="shop-etl",
            resource_attributes={"deployment.environment": "prod"},
        )
        _run(three_stages(exporter))
        exporter.close()
        resource = memory.get_finished_spans()[0].resource.attributes
        assert resource["service.name"] == "shop-etl"
        assert resource["deployment.environment"] == "prod"


class TestWrappers:
    def test_flush_and_shutdown_reach_the_wrapped_exporters(self, memory_logs):
        guard = ExportGuard("spans", "http://x")
        try:
            spans = GuardedSpanExporter(InMemorySpanExporter(), guard)
            logs = GuardedLogExporter(memory_logs, guard)
            assert spans.force_flush()
            assert logs.force_flush()
            assert logs.export([]) is LogRecordExportResult.SUCCESS
            logs.shutdown()
            spans.shutdown()
        finally:
            guard.release()


class TestThreads:
    def test_a_span_is_made_current_no_longer_only_in_its_own_thread(
        self, make_exporter, memory
    ):
        exporter = make_exporter(span_exporter=memory)
        started = threading.Thread(
            target=exporter.before_pipeline_run,
            kwargs={"run_id": "T", "pipeline_name": "p", "timestamp": 1.0},
        )
        started.start()
        started.join()
        exporter.after_pipeline_run(run_id="T", timestamp=2.0)  # another thread
        exporter.close()
        assert trace.get_current_span() is trace.INVALID_SPAN
        assert [s.name for s in memory.get_finished_spans()] == ["run p"]

    def test_the_first_writer_given_stays(self, memory):
        first, second = BackgroundWriter(), BackgroundWriter()
        exporter = OpenTelemetryExporter(span_exporter=memory, writer=first)
        try:

            class Bare:
                writer = second

            exporter.pysetl_attach(Bare())
            exporter.pysetl_attach(object())
            assert exporter.writer is first
        finally:
            exporter.close()
            first.close(2)
            second.close(2)


class TestMalformedTraceparent:
    def test_a_malformed_traceparent_starts_a_new_trace(
        self, make_exporter, memory, three_stages, monkeypatch
    ):
        monkeypatch.setenv("TRACEPARENT", "not-a-trace-context")
        exporter = make_exporter(span_exporter=memory)
        three_stages(exporter).run()
        exporter.close()
        run = _by_name(memory.get_finished_spans())["run shop"]
        assert run.parent is None
        assert run.context.is_valid
