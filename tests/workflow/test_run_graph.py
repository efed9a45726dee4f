"""``RunGraph``: the graph a run hands to the observers of ``before_pipeline_run``."""

from __future__ import annotations

from typing import Any

from typing_extensions import Self

from pysetl.workflow import Deliverable, Delivery, Factory, HookManager, Pipeline, Stage
from pysetl.workflow.hooks import hook_impl
from pysetl.workflow.run_graph import RunGraph


class Source(Factory[int]):
    def read(self) -> Self:
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return 2


class Other(Source):
    delivery_id = "other"


class Double(Source):
    number = Delivery[int](producer=Source)
    label = Delivery[str]()  # from outside the pipeline: not drawn


class Watcher:
    def __init__(self) -> None:
        self.graphs: list[RunGraph] = []

    @hook_impl
    def before_pipeline_run(self, *, graph: RunGraph) -> None:
        self.graphs.append(graph)


def _pipeline(hooks: HookManager | None = None) -> Pipeline:
    pipeline = Pipeline(hooks=hooks, name="g")
    pipeline.set_input_from_deliverable(Deliverable[str]("x"))
    pipeline.add_stage(Stage().add_factory(Source()).add_factory(Other()))
    return pipeline.add_stage_from_type(Double)


class TestRunGraph:
    def test_the_run_hands_its_graph_to_the_observers(self):
        watcher = Watcher()
        with HookManager(observers=[watcher]) as hooks:
            _pipeline(hooks).run()
        (graph,) = watcher.graphs
        assert graph.factories == 3
        assert graph.to_dict() == {
            "nodes": [
                {"id": "Source", "stage_id": 0},
                {"id": "Other", "stage_id": 0},
                {"id": "Double", "stage_id": 1},
            ],
            "edges": [{"source": "Source", "target": "Double", "delivery": "number"}],
        }

    def test_the_data_is_built_once(self):
        graph = RunGraph.of(_pipeline().run())
        assert graph is not None
        assert graph.to_dict() is graph.to_dict()
        assert repr(graph) == "RunGraph(factories=3)"

    def test_of_a_pipeline_that_never_ran_is_none(self):
        assert RunGraph.of(Pipeline()) is None

    def test_of_something_else_is_none(self):
        odd: Any = object()
        assert RunGraph.of(odd) is None
