"""Framework overhead grows linearly (loosely; the numbers live in benchmarks/)."""

from __future__ import annotations

import gc
import time

from pysetl.workflow import Delivery, Pipeline
from pysetl.workflow.hooks import HookManager

from .conftest import make_factory


def chain(n: int):
    first = make_factory("L0", int, compute=lambda: 0, delivery_id="n0")
    return [first] + [
        make_factory(
            f"L{i}",
            int,
            compute=lambda p: p + 1,
            delivery_id=f"n{i}",
            p=Delivery[int](delivery_id=f"n{i - 1}"),
        )
        for i in range(1, n)
    ]


def best_time(classes, hooks) -> float:
    best = float("inf")
    for _ in range(3):
        gc.collect()
        gc.disable()
        try:
            start = time.process_time()
            pipeline = Pipeline(hooks=hooks)
            for cls in classes:
                pipeline.add_stage_from_type(cls)
            pipeline.run()
            best = min(best, time.process_time() - start)
        finally:
            gc.enable()
    assert pipeline.get_last_output() == len(classes) - 1
    return best


class TestScaling:
    def test_eight_times_the_factories_costs_far_less_than_sixty_four_times(self):
        hooks = HookManager()
        small, large = chain(250), chain(2000)
        ratio = best_time(large, hooks) / best_time(small, hooks)
        assert ratio < 20  # linear is 8, the old quadratic engine was ~64


class TestNothingLeftForTheCollector:
    """A run makes no reference cycle: dropping the pipeline frees it at once.

    Objects in cycles wait for a full collection, which walks every object of
    the process: with thousands of factories that cost more than the run.
    """

    def test_a_dropped_pipeline_is_freed_without_the_collector(self, hooks):
        import weakref

        classes = chain(50)
        gc.collect()
        gc.disable()
        try:
            pipeline = Pipeline(hooks=hooks)
            for cls in classes:
                pipeline.add_stage_from_type(cls)
            pipeline.run()
            _ = pipeline.inspector.graph  # built on demand: no cycle either
            stage = weakref.ref(pipeline.stages[-1])
            factory = weakref.ref(pipeline.stages[-1].factories[0])
            gone = weakref.ref(pipeline)
            del pipeline
            assert gone() is None
            assert stage() is None
            assert factory() is None  # all freed with the collector paused
        finally:
            gc.enable()


class TestPlan:
    def test_keeps_one_source_per_factory_with_its_inputs(self, hooks):
        classes = chain(3)
        pipeline = Pipeline(hooks=hooks)
        for cls in classes:
            pipeline.add_stage_from_type(cls)
        plan = pipeline.resolve()
        assert [s.name for s in plan.sources] == ["L0", "L1", "L2"]
        assert plan.stage_starts == [0, 1, 2]
        assert [[s.name for s in ss] for ss in plan.stage_sources] == [
            ["L0"],
            ["L1"],
            ["L2"],
        ]
        assert plan.sources_of(2) == [plan.sources[2]]
        first, second, third = plan.sources
        assert first.inputs == first.wires == ()
        (wire,) = third.wires
        assert (wire.name, wire.source) == ("p", second)
        assert wire.delivery.delivery_id == "n1"
        assert third.inputs == ("p", wire.delivery, second)
        assert len(plan.inputs) == 6  # one flat list for the plan
        assert plan.inputs[3:] == ["p", wire.delivery, second.position]
        assert plan.inputs[2] == first.position  # positions, not objects
        assert plan.input_ends == [0, 3, 6]
        assert plan.origins[2] is third.origin
        assert plan.wires_of(2, 0) == third.wires
        assert [[len(w) for w in ws] for ws in plan.stage_wires] == [[0], [1], [1]]

    def test_stages_of_several_factories_and_empty_stages(self, hooks):
        from pysetl.workflow import Stage

        classes = chain(2)
        wide = (
            Stage().add_factory_from_type(classes[1]).add_factory_from_type(classes[1])
        )
        pipeline = (
            Pipeline(hooks=hooks)
            .add_stage_from_type(classes[0])
            .add_stage(Stage())
            .add_stage(wide)
        )
        plan = pipeline.resolve()
        assert plan.stage_starts == [0, 1, 1]
        assert [len(ss) for ss in plan.stage_sources] == [1, 0, 2]
        assert [s.name for s in plan.sources_of(2)] == ["L1", "L1#2"]
        assert plan.sources_of(1) == []
        assert pipeline.run().get_last_output() == 1


class TestFewObjectsPerFactory:
    """What a plain run keeps per chain factory, for the collector to scan."""

    def test_a_plain_run_keeps_the_plan_sources_as_its_records(self, hooks):
        from pysetl.workflow._execute import FactoryRun

        classes = chain(3)
        pipeline = Pipeline(hooks=hooks)
        for cls in classes:
            pipeline.add_stage_from_type(cls)
        pipeline.run()
        stage = pipeline.stages[-1]
        assert not any(isinstance(r, FactoryRun) for r in stage._runs)
        assert stage._records == []  # read from the plan: no list per stage
        assert [d.payload for d in stage.deliverable] == [2]
        assert stage.factories[0]._uuid is None  # no UUID made by the run
        assert stage._uuid is None

    def test_a_plain_run_makes_no_object_per_factory_in_the_plan(self, hooks):
        """Sources are views made when asked for; the plan holds positions."""
        from pysetl.workflow._inject import Source

        classes = chain(5)
        # Views another test made may still wait for the collector: only
        # those made from here on count (the old ones are held, so no new
        # view can reuse an old one's id).
        before = [o for o in gc.get_objects() if type(o) is Source]
        known = {id(o) for o in before}
        pipeline = Pipeline(hooks=hooks)
        for cls in classes:
            pipeline.add_stage_from_type(cls)
        pipeline.run()
        plan = pipeline.inspector._plan
        made = [o for o in gc.get_objects() if type(o) is Source and id(o) not in known]
        assert made == []
        assert all(type(p) is int for p in plan.inputs[2::3])
        assert plan.outputs == [0, 1, 2, 3, 4]
        assert [s.output for s in plan.sources] == [0, 1, 2, 3, 4]

    def test_creating_a_factory_runs_no_python_init(self):
        """With thousands of classes each call through the hierarchy is slow."""
        assert all(cls.__init__ is object.__init__ for cls in chain(3))

    def test_a_timed_run_keeps_its_marks(self, hooks):
        classes = chain(3)
        pipeline = Pipeline(benchmark=True, hooks=hooks)
        for cls in classes:
            pipeline.add_stage_from_type(cls)
        pipeline.run()
        assert len(pipeline.get_benchmarks()) == 3
        assert [d.payload for d in pipeline.stages[-1].deliverable] == [2]

    def test_stages_keep_their_attributes_without_a_dict(self, hooks):
        """CPython keeps late-set names of many instances in a dict each."""
        classes = chain(200)
        pipeline = Pipeline(hooks=hooks)
        for cls in classes:
            pipeline.add_stage_from_type(cls)
        pipeline.run()
        with_dict = [
            s
            for s in pipeline.stages
            if any(type(r) is dict for r in gc.get_referents(s))
        ]
        assert with_dict == []

    def test_builtin_payload_types_are_shared_between_classes(self):
        from pysetl.workflow.delivery_type import DeliveryType, shared_delivery_type

        first, second = chain(3)[1:]
        assert (
            first.delivery_type() is second.delivery_type() is shared_delivery_type(int)
        )
        (_, delivery), (_, other) = (
            first.declared_deliveries()[0],
            second.declared_deliveries()[0],
        )
        assert delivery.delivery_type() is other.delivery_type()
        assert shared_delivery_type(list[int]) == DeliveryType(list[int])
        assert shared_delivery_type(list[int]) is not shared_delivery_type(list[int])
