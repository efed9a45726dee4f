# ruff: noqa: E721 - DeliveryType's __eq__ against raw types is what we test
"""Inspector, DAG, Node, Flow, NodeOutput: ``describe()`` and the Mermaid diagram."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar
from uuid import UUID

import pydantic
import pytest

from pysetl.errors import PipelineError
from pysetl.workflow import Deliverable, Delivery, External, Pipeline, Stage
from pysetl.workflow.dag import DAG
from pysetl.workflow.flow import Flow
from pysetl.workflow.inspector import Inspector
from pysetl.workflow.node import Node
from pysetl.workflow.node_output import NodeOutput

from .conftest import make_factory

T = TypeVar("T")


@dataclass
class Pair(Generic[T]):
    left: T
    right: int


@dataclass
class Point:
    x: float
    y: float


class Model(pydantic.BaseModel):
    name: str


P = make_factory("P", str, compute=lambda s: s, s=Delivery[str](delivery_id="in"))
Q = make_factory(
    "Q",
    int,
    compute=lambda s: len(s),  # noqa: PLW0108 - len takes no keywords
    delivery_id="len",
    s=Delivery[str](producer=P),
)


@pytest.fixture
def pipeline(hooks):
    return (
        Pipeline(hooks=hooks)
        .set_input_from_deliverable(Deliverable[str]("hello", delivery_id="in"))
        .add_stage_from_type(P)
        .add_stage_from_type(Q)
    )


class TestDescribe:
    def test_summary(self, pipeline):
        assert pipeline.describe() == "\n".join(
            [
                "========== Pipeline Summary ==========",
                "",
                "-------------   Data Transformation Summary  -------------",
                "Factory: P",
                "Stage: 0",
                "Input: str from External (delivery id: in)",
                "Output: str",
                "-" * 58,
                "Factory: Q",
                "Stage: 1",
                "Input: str from P",
                "Output: int (delivery id: len)",
                "-" * 58,
                "------------------   Data Flow Summary  ------------------",
                "Flow[External -> P]",
                "Flow[P -> Q]",
                "",
            ]
        )

    def test_empty_pipeline(self, hooks):
        text = Pipeline(hooks=hooks).describe()
        assert "Data Transformation Summary  -------------\nEmpty\n" in text

    def test_describe_does_not_raise_for_bad_wiring(self, hooks):
        needy = make_factory("Needy", int, x=Delivery[str](producer=P))
        assert (
            "Factory: Needy"
            in Pipeline(hooks=hooks).add_stage_from_type(needy).describe()
        )

    def test_same_factory_twice_raises(self, hooks):
        factory = P()
        pipeline = (
            Pipeline(hooks=hooks)
            .add_stage_from_factory(factory)
            .add_stage_from_factory(factory)
        )
        with pytest.raises(PipelineError, match="Multiple factories found"):
            pipeline.describe()


class TestDiagram:
    def test_mermaid_class_diagram(self, pipeline):
        assert pipeline.to_diagram() == "\n".join(  # noqa: FLY002 - a line each
            [
                "classDiagram",
                "class P {",
                "    <<Factory[str]>>",
                "    +str",
                "}",
                "class str {",
                "    <<str>>",
                "}",
                "str <|.. P : Output",
                "class Q {",
                "    <<Factory[int]>>",
                "    +str",
                "}",
                "class intLenFinal {",
                "    <<int>>",
                "}",
                "intLenFinal <|.. Q : Output",
                "P<|--strInExternal:Input",
                "Q<|--str:Input",
            ]
        )

    def test_pipeline_and_dag_have_no_diagram_id(self, pipeline):
        with pytest.raises(
            NotImplementedError, match="Pipeline doesn't have a diagram id"
        ):
            _ = pipeline.diagram_id
        with pytest.raises(NotImplementedError, match="DAG doesn't have diagram id"):
            _ = Inspector(pipeline).graph.diagram_id


class TestInspector:
    def test_nodes_and_flows(self, pipeline):
        inspector = Inspector(pipeline)
        assert {n.factory_class for n in inspector.nodes} == {P, Q}
        assert len(inspector.flows) == 2
        assert inspector.find_node(pipeline.stages[1].factories[0]).factory_class is Q
        assert inspector.find_node(P()) is None
        assert str(inspector) == repr(inspector) == pipeline.describe()

    def test_run_keeps_a_lazy_inspector(self, pipeline):
        pipeline.run()
        assert pipeline.inspector is not None
        assert len(pipeline.inspector.graph.nodes) == 2

    def test_does_not_keep_the_pipeline_alive(self, hooks):
        import gc
        import weakref

        pipeline = (
            Pipeline(hooks=hooks)
            .set_input_from_deliverable(Deliverable[str]("hello", delivery_id="in"))
            .add_stage_from_type(P)
        )
        inspector = pipeline.run().inspector
        assert inspector is not None
        assert inspector.pipeline is pipeline
        assert len(inspector.graph.nodes) == 1
        gone = weakref.ref(pipeline)
        del pipeline
        gc.collect()
        assert gone() is None
        assert len(inspector.graph.nodes) == 1  # the graph of the run it saw
        with pytest.raises(PipelineError, match="no longer exists"):
            _ = inspector.pipeline
        with pytest.raises(PipelineError, match="no longer exists"):
            inspector.inspect()

    def test_inspect_rebuilds(self, pipeline):
        inspector = Inspector(pipeline)
        pipeline.add_stage(Stage().add_factory_from_type(make_factory("R", float)))
        assert len(inspector.inspect().nodes) == 3


class TestDag:
    def test_find_deliveries(self, pipeline):
        graph = Inspector(pipeline).graph
        q = pipeline.stages[1].factories[0]
        assert [d.producer for d in graph.find_deliveries(q)] == [P]
        assert graph.find_deliveries(P()) == []

    def test_empty_dag(self):
        assert DAG(set(), set()).to_diagram() == "classDiagram\n\n"


class TestNode:
    def test_external_node(self):
        node = Node.external(NodeOutput(int, set(), "x", external=True))
        assert node.factory_class is External
        assert node.factory_uuid == UUID(int=0)
        assert node.stage == -1
        assert node.diagram_id == "External"

    def test_lookup_helpers(self):
        node = Node.from_factory(Q(), 1, True)
        assert node.input == node.expected_deliveries
        assert node.producers == [P]
        assert len(node.find_input_by_type(str, "")) == 1
        assert node.find_input_by_type(str, "x") == []
        assert len(node.find_input_by_delivery_id("")) == 1

    def test_hash_and_diagram_id(self):
        node = Node.from_factory(P(), 0, False)
        assert hash(node) == hash(node.uuid)
        generic = make_factory("G", int)
        generic.__name__ = "G[int, str]"
        assert Node.from_factory(generic(), 0, False).diagram_id == "G_int_str_"

    def test_target_node(self):
        p = Node.from_factory(P(), 0, False)
        q = Node.from_factory(Q(), 1, True)
        assert p.target_node(q)
        assert not q.target_node(p)
        assert not p.target_node(p)

    def test_target_node_respects_consumers(self):
        restricted = make_factory("R", str, consumers={P})
        q = Node.from_factory(Q(), 1, True)
        r = Node.from_factory(restricted(), 0, False)
        assert not r.target_node(q)

    def test_target_node_needs_matching_producer(self):
        other = make_factory("Other", str)
        q = Node.from_factory(Q(), 1, True)
        assert not Node.from_factory(other(), 0, False).target_node(q)


class TestFlow:
    def test_flow_texts(self):
        flow = Flow(Node.from_factory(P(), 0, False), Node.from_factory(Q(), 1, True))
        assert str(flow) == "Flow[P -> Q]"
        assert repr(flow) == "Stage       : 0\nDirection   : P ==> Q\nPayLoad     : str"
        assert (flow.stage, flow.delivery_id, flow.payload, flow.diagram_id) == (
            0,
            "",
            str,
            "",
        )
        assert hash(flow) == hash(flow.uuid)

    def test_repr_with_delivery_id(self):
        flow = Flow(Node.from_factory(Q(), 0, False), Node.from_factory(P(), 1, True))
        assert repr(flow).startswith("Delivery id : len\n")


class TestNodeOutput:
    @pytest.mark.parametrize(
        ("output", "expected"),
        [
            (NodeOutput(int, set(), "base", external=True), "intBaseExternal"),
            (NodeOutput(list[int], set(), "", final_output=True), "listintFinal"),
            (NodeOutput(str, set(), "multipleInputFactory"), "strMultipleinputfactory"),
        ],
    )
    def test_diagram_id(self, output, expected):
        assert output.diagram_id == expected

    def test_fields_of_a_generic_dataclass(self):
        assert NodeOutput(Pair[str]).get_fields() == [
            "    >left: str",
            "    >right: int",
        ]

    def test_fields_of_a_dataclass_and_a_model(self):
        assert NodeOutput(Point).get_fields() == ["    >x: float", "    >y: float"]
        assert NodeOutput(Model).get_fields() == ["    >name: str"]

    def test_no_fields_for_plain_types(self):
        assert NodeOutput(int).get_fields() == []
        assert NodeOutput(list[int]).get_fields() == []

    def test_to_diagram_with_fields(self):
        assert NodeOutput(Point).to_diagram() == (
            "class Point {\n    <<Point>>\n    >x: float\n    >y: float\n}"
        )
        assert NodeOutput(int).wrapped_delivery_type == int
