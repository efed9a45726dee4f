from __future__ import annotations

import pytest

from pysetl.utils.exceptions import AlreadyExistsException
from pysetl.workflow import Stage
from pysetl.workflow.node import Node

from .conftest import make_factory

One = make_factory("One", int, compute=lambda: 1)
Two = make_factory("Two", str, compute=lambda: "2")


class Custom(Stage):
    """A stage that runs its factories in reverse."""

    def _run(self, context, *, parallel):
        runs = super()._run(context, parallel=parallel)
        return list(reversed(runs))


class TestStage:
    def test_defaults(self):
        stage = Stage()
        assert (stage.stage_id, stage.end, stage.start, stage.benchmarked) == (
            0,
            True,
            True,
            False,
        )
        assert stage.factories == []
        assert stage.deliverable == []
        assert str(stage) == repr(stage) == ""

    def test_adding_the_same_factory_twice_fails(self):
        factory = One()
        stage = Stage().add_factory(factory)
        with pytest.raises(
            AlreadyExistsException,
            match=f"The item {factory.uuid} of type One already exists",
        ):
            stage.add_factory(factory)

    def test_add_factory_from_type_with_arguments(self):
        class WithArgs(One):
            def __init__(self, value: int) -> None:
                super().__init__()
                self.value = value

        stage = Stage().add_factory_from_type(WithArgs, 5)
        assert stage.factories[0].value == 5
        assert isinstance(Stage.instantiate_factory(One), One)

    def test_factories_in_insertion_order_and_str(self):
        stage = Stage().add_factory_from_type(One).add_factory_from_type(Two)
        assert [type(f) for f in stage.factories] == [One, Two]
        assert str(stage) == "One -> int\nTwo -> str"

    def test_properties_are_settable(self):
        stage = Stage()
        stage.stage_id = 3
        stage.end = False
        assert (stage.stage_id, stage.end, stage.start) == (3, False, False)

    def test_run_alone_collects_deliverables(self):
        stage = Stage().add_factory_from_type(One).add_factory_from_type(Two).run()
        assert [d.payload for d in stage.deliverable] == [1, "2"]

    def test_should_write(self):
        factory = One()
        stage = Stage()
        assert stage.should_write(factory)
        assert not stage.should_write(factory.writable(False))
        factory.writable(True)
        assert not stage.writable(False).should_write(factory)

    def test_create_nodes(self):
        stage = Stage().add_factory_from_type(One)
        stage.stage_id, stage.end = 2, False
        (node,) = stage.create_nodes()
        assert isinstance(node, Node)
        assert (node.factory_class, node.stage, node.output.final_output) == (
            One,
            2,
            False,
        )

    def test_benchmarked_stage_alone(self):
        stage = Stage(benchmark=True).add_factory_from_type(One).run()
        assert [r.cls for r in stage.get_benchmarks()] == ["One"]

    def test_subclass_customises_run(self):
        stage = Custom().add_factory_from_type(One).add_factory_from_type(Two).run()
        assert [d.payload for d in stage.deliverable] == ["2", 1]
