"""``Flow``: an edge of the DAG, from a producer node to a consumer node."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from pysetl.utils._pretty import pretty
from pysetl.utils.mixins import HasDiagram

if TYPE_CHECKING:
    from pysetl.workflow.node import Node

__all__ = ["Flow"]


@dataclass
class Flow(HasDiagram):
    """The output of ``from_node`` delivered to ``to_node``."""

    from_node: Node
    to_node: Node

    def __post_init__(self) -> None:
        """Give the flow its own uuid."""
        self.uuid = uuid4()

    def __hash__(self) -> int:
        """Hash by the flow's own uuid."""
        return hash(self.uuid)

    @property
    def stage(self) -> int:
        """The producer's stage."""
        return self.from_node.stage

    @property
    def delivery_id(self) -> str:
        """The id of what flows."""
        return self.from_node.output.delivery_id

    @property
    def payload(self) -> Any:
        """The type of what flows."""
        return self.from_node.output.delivery_type

    @property
    def diagram_id(self) -> str:
        """Flows have no id of their own in the diagram."""
        return ""

    def to_diagram(self) -> str:
        """``<Consumer><|--<producer output>:Input``."""
        return f"{self.to_node.diagram_id}<|--{self.from_node.output.diagram_id}:Input"

    def __str__(self) -> str:
        """``Flow[<From> -> <To>]``."""
        return (
            f"Flow[{pretty(self.from_node.factory_class)} -> "
            f"{pretty(self.to_node.factory_class)}]"
        )

    def __repr__(self) -> str:
        """A block with the id, stage, direction and payload."""
        lines = []
        if self.delivery_id:
            lines.append(f"Delivery id : {self.delivery_id}")
        lines += [
            f"Stage       : {self.stage}",
            (
                f"Direction   : {pretty(self.from_node.factory_class)} ==> "
                f"{pretty(self.to_node.factory_class)}"
            ),
            f"PayLoad     : {pretty(self.payload)}",
        ]
        return "\n".join(lines)
