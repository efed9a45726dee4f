"""``DAG``: the nodes and flows of a pipeline, as text and as a Mermaid diagram."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pysetl.utils.mixins import HasDiagram

if TYPE_CHECKING:
    from pysetl.workflow.delivery import Delivery
    from pysetl.workflow.factory import Factory
    from pysetl.workflow.flow import Flow
    from pysetl.workflow.node import Node

__all__ = ["DAG"]

TRANSFORMATIONS = "-------------   Data Transformation Summary  -------------"
FLOWS = "------------------   Data Flow Summary  ------------------"


def _node_order(node: Node) -> tuple[int, int]:
    return (node.stage, node.position)


def _flow_order(flow: Flow) -> tuple[int, int, int, int, str]:
    # External inputs all sit at stage -1, position 0: their diagram id (type,
    # delivery id) breaks the tie so the order never depends on set iteration.
    return (
        *_node_order(flow.to_node),
        *_node_order(flow.from_node),
        flow.from_node.output.diagram_id,
    )


@dataclass
class DAG(HasDiagram):
    """The graph of a pipeline.

    Changed in 0.2: reports and diagrams list nodes by stage, then in
    declaration order, and flows by consumer, so they are deterministic.
    """

    nodes: set[Node]
    flows: set[Flow]

    @property
    def sorted_nodes(self) -> list[Node]:
        """The nodes by stage, then declaration order."""
        return sorted(self.nodes, key=_node_order)

    @property
    def sorted_flows(self) -> list[Flow]:
        """The flows by consumer, then producer."""
        return sorted(self.flows, key=_flow_order)

    def find_deliveries(self, factory: Factory[Any]) -> list[Delivery[Any]]:
        """The deliveries of the node of ``factory``."""
        for node in self.nodes:
            if node.factory_uuid == factory.uuid:
                return node.expected_deliveries
        return []

    @property
    def diagram_id(self) -> str:
        """Not available: a DAG is the whole diagram."""
        msg = "DAG doesn't have diagram id"
        raise NotImplementedError(msg)

    def to_diagram(self) -> str:
        """The Mermaid ``classDiagram``."""
        nodes = "\n".join(n.to_diagram() for n in self.sorted_nodes)
        flows = "\n".join(f.to_diagram() for f in self.sorted_flows)
        return f"classDiagram\n{nodes}\n{flows}"

    def __str__(self) -> str:
        """The transformation summary, then the flow summary."""
        nodes = "\n".join(str(n) for n in self.sorted_nodes) or "Empty"
        flows = "\n".join(str(f) for f in self.sorted_flows) or "Empty"
        return f"{TRANSFORMATIONS}\n{nodes}\n{FLOWS}\n{flows}\n"
