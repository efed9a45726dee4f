"""A factory added on its own is kept without its Stage until stages are asked for."""

from __future__ import annotations

import pytest

from pysetl.errors import AlreadyRegisteredError, FactoryError, PipelineError
from pysetl.workflow import Delivery, Pipeline, Stage
from pysetl.workflow.hooks import HookManager, hook_impl

from .conftest import make_factory


def chain(n: int, fail: dict[str, int] | None = None):
    def step(i: int):
        def compute(p: int = -1) -> int:
            if fail is not None and fail.get("at") == i:
                msg = "boom"
                raise RuntimeError(msg)
            return p + 1

        return compute

    first = make_factory("L0", int, compute=step(0), delivery_id="n0")
    return [first] + [
        make_factory(
            f"L{i}",
            int,
            compute=step(i),
            delivery_id=f"n{i}",
            p=Delivery[int](delivery_id=f"n{i - 1}"),
        )
        for i in range(1, n)
    ]


def built(classes, hooks) -> Pipeline:
    pipeline = Pipeline(hooks=hooks)
    for cls in classes:
        pipeline.add_stage_from_type(cls)
    return pipeline


class TestLoneFactories:
    def test_no_stage_is_made_by_building_and_running(self, hooks):
        pipeline = built(chain(3), hooks).run()
        assert pipeline._lone == 3
        assert pipeline.get_last_output() == 2

    def test_stages_are_made_once_as_add_stage_would(self, hooks):
        pipeline = built(chain(3), hooks)
        stages = pipeline.stages
        assert [type(s) for s in stages] == [Stage] * 3
        assert [s.stage_id for s in stages] == [0, 1, 2]
        assert [s.end for s in stages] == [False, False, True]
        assert pipeline.stages == stages
        assert all(a is b for a, b in zip(pipeline.stages, stages, strict=True))
        assert pipeline.size == 3

    def test_a_stage_made_after_the_run_has_its_records(self, hooks):
        pipeline = built(chain(3), hooks).run()
        last = pipeline.stages[-1]
        assert [d.payload for d in last.deliverable] == [2]
        assert len(pipeline.dispatcher.find_deliverable_by_type(int)) == 3

    def test_mixed_with_stages_keeps_end_flags_and_ids(self, hooks):
        a, b, c = chain(3)
        pipeline = Pipeline(hooks=hooks).add_stage_from_type(a)
        explicit = Stage().add_factory_from_type(b)
        pipeline.add_stage(explicit).add_stage_from_type(c)
        assert explicit.end is False
        stages = pipeline.stages
        assert stages[1] is explicit
        assert [s.stage_id for s in stages] == [0, 1, 2]
        assert [s.end for s in stages] == [False, False, True]
        assert pipeline.run().get_last_output() == 2

    def test_a_made_stage_keeps_what_was_set_on_it(self, hooks):
        pipeline = built(chain(2), hooks)
        pipeline.stages[1].writable(False)
        pipeline.run()
        assert pipeline.stages[1].is_writable is False

    def test_a_made_stage_is_registered(self, hooks):
        pipeline = built(chain(2), hooks)
        with pytest.raises(AlreadyRegisteredError):
            pipeline.add_stage(pipeline.stages[0])

    def test_one_factory_in_two_stages_is_a_preflight_error(self, hooks):
        (cls,) = chain(1)
        factory = cls()
        pipeline = Pipeline(hooks=hooks)
        pipeline.add_stage_from_factory(factory).add_stage_from_factory(factory)
        with pytest.raises(PipelineError, match="Multiple factories found"):
            pipeline.run()

    def test_a_failed_run_keeps_the_records_of_the_stages_that_ran(self, hooks):
        fail = {"at": 2}
        pipeline = built(chain(4, fail), hooks)
        with pytest.raises(FactoryError):
            pipeline.run()
        _, second, third, fourth = pipeline.stages
        assert [d.payload for d in second.deliverable] == [1]
        assert third.deliverable == fourth.deliverable == []

    def test_after_a_failed_rerun_later_stages_keep_the_first_runs_records(self, hooks):
        fail: dict[str, int] = {}
        pipeline = built(chain(4, fail), hooks).run()
        first_plan = pipeline.inspector._plan
        fail["at"] = 2
        with pytest.raises(FactoryError):
            pipeline.run()
        stages = pipeline.stages
        assert [s._plan is first_plan for s in stages] == [False, False, True, True]
        assert [d.payload for d in stages[3].deliverable] == [3]

    def test_the_uuid_registry_holds_stages(self, hooks):
        pipeline = built(chain(2), hooks)
        registry = pipeline.get_registry()
        assert [type(s) for s in registry.values()] == [Stage, Stage]
        pipeline.add_stage_from_type(chain(3)[2])  # a stage at once, in a dict
        assert [type(s) for s in pipeline.get_registry().values()] == [Stage] * 3
        assert pipeline.run().get_last_output() == 2

    def test_an_observed_run_sees_stages(self):
        seen = []

        class Observer:
            @hook_impl
            def before_stage_run(self, *, stage: Stage) -> None:
                seen.append(type(stage))

        with HookManager(observers=[Observer()], inline=True) as hooks:
            built(chain(2), hooks).run()
        assert seen == [Stage, Stage]
