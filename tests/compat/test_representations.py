"""``str``/``repr`` of the contract's objects, and benchmark results (no Spark).

Written from ``pysetl-api.md`` sections 3, 5 and 6. Where the contract's
text was a defect we fixed on purpose, the test pins the new text and names
the row of ``docs/migration.md`` that explains it.
"""

from __future__ import annotations

import pytest

from pysetl.config import CsvConfig
from pysetl.utils import BenchmarkModifier, BenchmarkResult, pretty
from pysetl.workflow import Deliverable, Delivery, Factory, Pipeline, Stage
from pysetl.workflow.delivery_type import DeliveryType
from pysetl.workflow.expected_deliverable import ExpectedDeliverable
from pysetl.workflow.external import External
from pysetl.workflow.inspector import Inspector
from pysetl.workflow.node_output import NodeOutput


class P(Factory[str]):
    text = Delivery[str](delivery_id="in")

    def read(self) -> P:
        self.value = self.text.get()
        return self

    def process(self) -> P:
        return self

    def write(self) -> P:
        return self

    def get(self) -> str:
        return self.value


class Q(Factory[int]):
    delivery_id = "len"
    text = Delivery[str](producer=P)

    def read(self) -> Q:
        self.value = len(self.text.get())
        return self

    def process(self) -> Q:
        return self

    def write(self) -> Q:
        return self

    def get(self) -> int:
        return self.value


@pytest.fixture
def pipeline() -> Pipeline:
    """The contract's example (5.11): External str "in" -> P -> Q (int, "len")."""
    return (
        Pipeline()
        .set_input_from_deliverable(Deliverable[str]("abc", delivery_id="in"))
        .add_stage_from_type(P)
        .add_stage_from_type(Q)
    )


class TestWorkflowObjects:
    def test_delivery(self):
        delivery = Delivery[int](producer=P)
        assert str(delivery) == repr(delivery) == "Delivery from P with type int"
        assert str(Delivery[str]()) == "Delivery from External with type str"

    def test_deliverable(self):
        deliverable = Deliverable[int](1, producer=P, consumers={Q})
        assert repr(deliverable) == "Deliverable[int]"
        assert str(deliverable).splitlines() == [
            "Deliverable: int",
            "  From: P",
            "  To: Q",
        ]

    def test_factory(self):
        assert str(Q()) == "Q -> int"
        assert repr(Q()) == "Q will produce a int"

    def test_stage(self):
        assert str(Stage()) == repr(Stage()) == ""
        stage = Stage().add_factory_from_type(P).add_factory_from_type(Q)
        assert str(stage) == repr(stage) == "P -> str\nQ -> int"

    def test_delivery_type(self):
        assert repr(DeliveryType(int)) == repr(int)
        assert DeliveryType(DeliveryType(int)).tp is int

    def test_expected_deliverable_is_a_value(self):
        one = ExpectedDeliverable("int", "", "External", None)
        assert one == ExpectedDeliverable("int", "", "External", None)
        assert len({one, ExpectedDeliverable("int", "", "External", None)}) == 1

    def test_config(self):
        config = CsvConfig(path="/data/x", delimiter=";")
        assert (
            str(config)
            == repr(config)
            == ("PySetl CsvConfig:\n  path: /data/x\n  delimiter: ;")
        )


class TestGraph:
    def test_flows_print_as_producer_to_consumer(self, pipeline):
        graph = Inspector(pipeline).graph
        flows = sorted(str(flow) for flow in graph.flows)
        assert flows == ["Flow[External -> P]", "Flow[P -> Q]"]

    def test_a_flow_repr_is_the_contract_block(self, pipeline):
        graph = Inspector(pipeline).graph
        (internal,) = [f for f in graph.flows if str(f) == "Flow[P -> Q]"]
        assert repr(internal).splitlines() == [
            "Stage       : 0",
            "Direction   : P ==> Q",
            "PayLoad     : str",
        ]
        (external,) = [f for f in graph.flows if str(f) == "Flow[External -> P]"]
        assert repr(external).splitlines()[0] == "Delivery id : in"

    def test_the_dag_lists_its_flows_in_the_flow_form(self, pipeline):
        text = str(Inspector(pipeline).graph)
        assert text.startswith(
            "-------------   Data Transformation Summary  -------------\n"
        )
        flows = text.split(
            "------------------   Data Flow Summary  ------------------\n"
        )[1]
        assert sorted(flows.split()) == sorted(
            ["Flow[External", "->", "P]", "Flow[P", "->", "Q]"]
        )

    def test_inspector_str_and_repr(self, pipeline):
        inspector = Inspector(pipeline)
        expected = "========== Pipeline Summary ==========\n\n" + str(inspector.graph)
        assert str(inspector) == repr(inspector) == expected
        assert pipeline.describe() == expected

    def test_an_empty_dag(self):
        text = str(Inspector(Pipeline()).graph)
        assert text.count("Empty") == 2

    def test_node_blocks_end_with_58_dashes(self, pipeline):
        text = str(Inspector(pipeline).graph)
        assert "Factory: P\nStage: 0\n" in text
        assert text.count("-" * 58 + "\n") == 2

    def test_mermaid_lines_of_the_contract_example(self, pipeline):
        lines = pipeline.to_diagram().splitlines()
        assert lines[0] == "classDiagram"
        for line in (
            "class intLenFinal {",
            "intLenFinal <|.. Q : Output",
            "P<|--strInExternal:Input",
            "Q<|--str:Input",
        ):
            assert line in lines

    @pytest.mark.parametrize(
        ("output", "diagram_id"),
        [
            (NodeOutput(int, set(), "base", external=True), "intBaseExternal"),
            (NodeOutput(str, set(), "multipleinputfactory"), "strMultipleinputfactory"),
            (NodeOutput(list[int], set(), "", final_output=True), "listintFinal"),
        ],
    )
    def test_node_output_diagram_ids(self, output, diagram_id):
        assert output.diagram_id == diagram_id


class TestUtilities:
    def test_pretty(self):
        assert pretty(None) == ""
        assert pretty("module.type") == "type"
        assert pretty(list[int]) == "list[int]"
        assert pretty(dict[str, list[int]]) == "dict[str, list[int]]"
        assert pretty(External) == "External"
        assert pretty(1) == "1"

    def test_benchmark_result_fields_constructor_and_text(self):
        result = BenchmarkResult("Q", 1.0, 2.0, 0.5, 3.5)
        assert (
            result.cls,
            result.read,
            result.process,
            result.write,
            result.total,
        ) == (
            "Q",
            1.0,
            2.0,
            0.5,
            3.5,
        )
        assert result == BenchmarkResult(
            cls="Q", read=1.0, process=2.0, write=0.5, total=3.5
        )
        assert str(result).split("\n") == [
            "Benchmark class: Q",
            "Total elapsed time: 3.5 s",
            "read: 1.0 s",
            "process: 2.0 s",
            "write: 0.5 s",
            "=================",
        ]

    def test_benchmark_modifier_times_each_method_and_get_returns_the_object(self):
        factory = Q()
        factory.text.set("abcd")
        modifier = BenchmarkModifier(factory)
        timed = modifier.get()
        assert timed is factory
        assert timed.times == {}
        timed.read().process().write()
        assert set(timed.times) == {"read", "process", "write"}
        assert all(seconds >= 0 for seconds in timed.times.values())
        assert timed.get() == 4
        assert "get" in timed.times  # every public method is timed, get too
