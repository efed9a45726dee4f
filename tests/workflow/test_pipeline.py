from __future__ import annotations

import pytest

from pysetl.errors import AlreadyRegisteredError, FactoryError, PipelineError
from pysetl.utils import BenchmarkResult
from pysetl.utils.exceptions import AlreadyExistsException, PipelineException
from pysetl.workflow import Deliverable, Delivery, Factory, Pipeline, Stage
from pysetl.workflow.expected_deliverable import ExpectedDeliverable

from .conftest import make_factory


class Double(Factory[int]):
    number = Delivery[int](delivery_id="n")

    def read(self):
        self.value = self.number.get()
        return self

    def process(self):
        self.value *= 2
        return self

    def write(self):
        self.writes = getattr(self, "writes", 0) + 1
        return self

    def get(self):
        return self.value


class Describe(Factory[str]):
    doubled = Delivery[int](producer=Double)

    def read(self):
        self.value = self.doubled.get()
        return self

    def process(self):
        self.text = f"value={self.value}"
        return self

    def write(self):
        return self

    def get(self):
        return self.text


class Boom(Factory[int]):
    doubled = Delivery[int](producer=Double)

    def read(self):
        return self

    def process(self):
        msg = "bad input"
        raise ValueError(msg)

    def write(self):
        return self

    def get(self):
        return 0


def pipeline_of(hooks, value=21, *types, benchmark=False):
    pipeline = Pipeline(benchmark, hooks=hooks).set_input_from_deliverable(
        Deliverable[int](value, delivery_id="n")
    )
    for cls in types or (Double, Describe):
        pipeline.add_stage_from_type(cls)
    return pipeline


class TestRun:
    def test_runs_stages_in_order_and_injects_outputs(self, hooks):
        pipeline = pipeline_of(hooks).run()
        assert pipeline.get_last_output() == "value=42"
        assert pipeline.get_output(Double) == 42

    @pytest.mark.parametrize("value", [0, -1])
    def test_falsy_payloads_flow(self, hooks, value):
        pipeline = pipeline_of(hooks, value).run()
        assert pipeline.get_output(Double) == value * 2

    def test_run_is_repeatable_with_the_same_result(self, hooks):
        pipeline = pipeline_of(hooks).run()
        first = (pipeline.get_last_output(), len(pipeline.dispatcher.get_registry()))
        second_id = pipeline.run_id
        pipeline.run()
        assert (
            pipeline.get_last_output(),
            len(pipeline.dispatcher.get_registry()),
        ) == first
        assert pipeline.run_id != second_id

    def test_each_run_gets_a_new_sortable_run_id(self, hooks):
        pipeline = pipeline_of(hooks)
        ids = [pipeline.run().run_id for _ in range(3)]
        assert ids == sorted(ids)
        assert len(set(ids)) == 3

    def test_writes_only_when_stage_and_factory_are_writable(self, hooks):
        pipeline = pipeline_of(hooks)
        pipeline.stages[0].writable(False)
        pipeline.run()
        assert not hasattr(pipeline.stages[0].factories[0], "writes")
        pipeline.stages[0].writable(True)
        pipeline.stages[0].factories[0].writable(False)
        pipeline.run()
        assert not hasattr(pipeline.stages[0].factories[0], "writes")
        pipeline.stages[0].factories[0].writable(True)
        pipeline.run()
        assert pipeline.stages[0].factories[0].writes == 1


class TestFailures:
    def test_factory_error_carries_its_context(self, hooks):
        pipeline = pipeline_of(hooks, 1, Double, Boom)
        with pytest.raises(FactoryError) as info:
            pipeline.run()
        error = info.value
        assert isinstance(error, PipelineError)
        assert isinstance(error.__cause__, ValueError)
        assert (error.factory, error.phase, error.stage, error.attempt) == (
            "Boom",
            "process",
            1,
            1,
        )
        assert error.run_id == pipeline.run_id
        assert error.pipeline == "pipeline"
        assert "bad input" in str(error)
        assert error.hint
        assert error.context["phase"] == "process"

    def test_finished_factories_keep_their_state(self, hooks):
        pipeline = pipeline_of(hooks, 5, Double, Boom)
        with pytest.raises(FactoryError):
            pipeline.run()
        assert pipeline.get_output(Double) == 10

    @pytest.mark.parametrize("phase", ["read", "process", "write", "get"])
    def test_phase_is_named(self, hooks, phase):
        def fail(self):
            msg = f"in {phase}"
            raise RuntimeError(msg)

        cls = make_factory("Failing", int)
        setattr(cls, phase, fail)
        with pytest.raises(FactoryError) as info:
            Pipeline(hooks=hooks).add_stage_from_type(cls).run()
        assert info.value.phase == phase

    def test_factory_error_raised_inside_passes_through(self, hooks):
        inner = FactoryError("inner", factory="Inner")

        def fail(**_):
            raise inner

        cls = make_factory("Outer", int, compute=fail)
        with pytest.raises(FactoryError) as info:
            Pipeline(hooks=hooks).add_stage_from_type(cls).run()
        assert info.value is inner


class TestComposition:
    def test_add_stage_numbers_stages_and_moves_the_end(self, hooks):
        pipeline = pipeline_of(hooks)
        first, second = pipeline.stages
        assert (first.stage_id, second.stage_id) == (0, 1)
        assert (first.end, second.end) == (False, True)
        assert first.start
        assert not second.start

    def test_adding_a_stage_twice_fails(self, hooks):
        stage = Stage()
        pipeline = Pipeline(hooks=hooks).add_stage(stage)
        with pytest.raises(AlreadyExistsException):
            pipeline.add_stage(stage)
        assert pipeline.stages == [stage]

    def test_adding_an_input_twice_fails(self, hooks):
        d = Deliverable[int](1)
        pipeline = Pipeline(hooks=hooks).set_input_from_deliverable(d)
        with pytest.raises(
            AlreadyRegisteredError, match="type Deliverable already exists"
        ):
            pipeline.set_input_from_deliverable(d)

    def test_add_stage_from_factory(self, hooks):
        factory = Double()
        pipeline = Pipeline(hooks=hooks).add_stage_from_factory(factory)
        assert pipeline.stages[0].factories == [factory]

    def test_reset_end_stage(self, hooks):
        pipeline = pipeline_of(hooks)
        for stage in pipeline.stages:
            stage.end = True
        pipeline.reset_end_stage()
        assert [s.end for s in pipeline.stages] == [False, True]
        assert Pipeline(hooks=hooks).reset_end_stage().stages == []

    def test_str_is_the_default_repr(self, hooks):
        assert str(Pipeline(hooks=hooks)).startswith(
            "<pysetl.workflow.pipeline.Pipeline"
        )


class TestOutputs:
    def test_get_output_of_a_missing_class(self, hooks):
        with pytest.raises(PipelineException, match="There isn't any class Boom"):
            pipeline_of(hooks).run().get_output(Boom)

    def test_get_last_output_of_empty_pipeline_and_stage(self, hooks):
        assert Pipeline(hooks=hooks).get_last_output() is None
        assert Pipeline(hooks=hooks).add_stage(Stage()).get_last_output() is None

    def test_get_deliverable_finds_inputs_and_outputs(self, hooks):
        pipeline = pipeline_of(hooks).run()
        found = pipeline.get_deliverable(int)
        assert sorted(d.payload for d in found) == [21, 42]
        assert [d.payload for d in pipeline.get_deliverable(str)] == ["value=42"]

    def test_stage_deliverables_of_the_last_run(self, hooks):
        pipeline = pipeline_of(hooks).run()
        (deliverable,) = pipeline.stages[0].deliverable
        assert deliverable.payload == 42
        assert deliverable.producer is Double
        assert pipeline.stages[0].deliverable is pipeline.stages[0].deliverable


class TestBenchmarks:
    def test_pipeline_benchmark_times_every_factory(self, hooks):
        pipeline = pipeline_of(hooks, benchmark=True).run()
        results = pipeline.get_benchmarks()
        assert [r.cls for r in results] == ["Double", "Describe"]
        for r in results:
            assert isinstance(r, BenchmarkResult)
            assert r.total == pytest.approx(r.read + r.process + r.write)

    def test_write_is_zero_when_not_writing(self, hooks):
        pipeline = pipeline_of(hooks, benchmark=True)
        pipeline.stages[0].writable(False)
        (first, _) = pipeline.run().get_benchmarks()
        assert first.write == 0

    def test_stage_flag_is_honoured_without_the_pipeline_flag(self, hooks):
        """Changed: the pipeline no longer overrides Stage(benchmark=True)."""
        pipeline = Pipeline(hooks=hooks).set_input_from_deliverable(
            Deliverable[int](1, delivery_id="n")
        )
        pipeline.add_stage(Stage(benchmark=True).add_factory_from_type(Double))
        pipeline.add_stage_from_type(Describe)
        assert [r.cls for r in pipeline.run().get_benchmarks()] == ["Double"]
        assert pipeline.stages[0].benchmarked

    def test_no_benchmarks_by_default(self, hooks):
        assert pipeline_of(hooks).run().get_benchmarks() == []

    def test_pipeline_results_are_per_run_stage_results_accumulate(self, hooks):
        pipeline = pipeline_of(hooks, benchmark=True).run().run()
        assert len(pipeline.get_benchmarks()) == 2
        assert len(pipeline.stages[0].get_benchmarks()) == 2
        assert len(pipeline.stages[0].last_benchmarks) == 1


class TestExecuteStage:
    def test_dispatches_registered_inputs_and_runs_one_stage(self, hooks):
        pipeline = Pipeline(benchmark=True, hooks=hooks).set_input_from_deliverable(
            Deliverable[int](3, delivery_id="n")
        )
        stage = Stage().add_factory_from_type(Double)
        results = pipeline.execute_stage(stage)
        assert [r.cls for r in results] == ["Double"]
        assert [d.payload for d in pipeline.get_deliverable(int)] == [3, 6]

    def test_without_inputs_nothing_is_dispatched(self, hooks):
        stage = Stage().add_factory_from_type(
            make_factory("Plain", int, compute=lambda: 1)
        )
        assert Pipeline(hooks=hooks).execute_stage(stage) == []
        assert stage.factories[0].get() == 1


class TestReports:
    def test_needed_deliverables(self, hooks):
        assert pipeline_of(hooks).get_needed_deliverables() == {
            ExpectedDeliverable("int", "n", "External", "Double"),
            ExpectedDeliverable("int", "", "Double", "Describe"),
        }

    def test_pipeline_deliverables_one_per_consumer(self, hooks):
        pipeline = (
            Pipeline(hooks=hooks)
            .set_input_from_deliverable(Deliverable[int](1, delivery_id="a"))
            .set_input_from_deliverable(
                Deliverable[str]("x", consumers={Double, Describe})
            )
        )
        assert pipeline.get_pipeline_deliverables() == {
            ExpectedDeliverable("int", "a", "External", None),
            ExpectedDeliverable("str", "", "External", "Double"),
            ExpectedDeliverable("str", "", "External", "Describe"),
        }

    def test_stages_deliverables_skip_the_last_stage(self, hooks):
        assert pipeline_of(hooks).get_stages_deliverables() == {
            ExpectedDeliverable("int", "", "Double", None)
        }

    def test_expected_deliverable_is_hashable_value(self):
        assert ExpectedDeliverable("int", "", "A", None) == ExpectedDeliverable(
            "int", "", "A", None
        )
        assert (
            len(
                {ExpectedDeliverable("int", "", "A", None)}
                | {ExpectedDeliverable("int", "", "A", None)}
            )
            == 1
        )


class TestCompatibilityAttributes:
    def test_dispatcher_can_be_replaced(self, hooks):
        from pysetl.workflow.dispatcher import Dispatcher

        pipeline = pipeline_of(hooks).run()
        fresh = Dispatcher()
        pipeline.dispatcher = fresh
        assert pipeline.dispatcher is fresh
        assert pipeline.get_deliverable(int) == []

    def test_describe_and_diagram_rebuild_the_inspector(self, hooks):
        pipeline = pipeline_of(hooks)
        assert pipeline.inspector is None
        pipeline.describe()
        first = pipeline.inspector
        pipeline.to_diagram()
        assert pipeline.inspector is not first
