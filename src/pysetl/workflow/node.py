"""``Node``: one factory of a pipeline, as a vertex of the DAG."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from pysetl.utils._pretty import pretty
from pysetl.utils.mixins import HasDiagram
from pysetl.workflow.delivery_type import DeliveryType
from pysetl.workflow.external import External
from pysetl.workflow.node_output import NodeOutput

if TYPE_CHECKING:
    from pysetl.workflow.delivery import Delivery
    from pysetl.workflow.factory import Factory

__all__ = ["Node"]

SEPARATOR = "-" * 58


@dataclass
class Node(HasDiagram):
    """A factory (or an external input) in the DAG.

    Args:
        factory_class: The factory's class (``External`` for inputs).
        factory_uuid: The factory instance's uuid.
        stage: The stage index (``-1`` for inputs).
        expected_deliveries: The factory's declared deliveries.
        output: What it produces.
        position: Declaration order, for stable reports (not compared).
    """

    factory_class: type[Any]
    factory_uuid: UUID
    stage: int
    expected_deliveries: list[Delivery[Any]]
    output: NodeOutput
    position: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        """Give the node its own uuid."""
        self.uuid = uuid4()

    def __hash__(self) -> int:
        """Hash by the node's own uuid."""
        return hash(self.uuid)

    @classmethod
    def from_factory(
        cls, factory: Factory[Any], stage: int, final: bool, position: int = 0
    ) -> Node:
        """The node of ``factory`` in stage ``stage``."""
        klass = type(factory)
        output = NodeOutput(
            delivery_type=klass.delivery_type().tp,
            consumer=factory.consumers,
            delivery_id=factory.delivery_id,
            final_output=final,
        )
        return cls(
            klass,
            factory.uuid,
            stage,
            klass.expected_deliveries(),
            output,
            position,
        )

    @classmethod
    def external(cls, output: NodeOutput) -> Node:
        """The node of an external input."""
        return cls(External, UUID(int=0), -1, [], output)

    @property
    def input(self) -> list[Delivery[Any]]:
        """The declared deliveries."""
        return self.expected_deliveries

    @property
    def producers(self) -> list[type[Any]]:
        """The declared producer of each delivery."""
        return [d.producer for d in self.expected_deliveries]

    @property
    def diagram_id(self) -> str:
        """The factory's name, with brackets replaced by ``_``."""
        name = pretty(self.factory_class)
        return name.replace(", ", "_").replace("[", "_").replace("]", "_")

    def find_input_by_type(self, tp: Any, delivery_id: str) -> list[Delivery[Any]]:
        """The deliveries of type ``tp`` and id ``delivery_id``."""
        wanted = DeliveryType(tp)
        return [
            d
            for d in self.expected_deliveries
            if d.delivery_type() == wanted and d.delivery_id == delivery_id
        ]

    def find_input_by_delivery_id(self, delivery_id: str) -> list[Delivery[Any]]:
        """The deliveries with id ``delivery_id``."""
        return [d for d in self.expected_deliveries if d.delivery_id == delivery_id]

    def target_node(self, other: Node) -> bool:
        """Whether this node's output can feed ``other``.

        True when ``other`` runs in a later stage, has an input of this
        node's output type and id whose producer is ``External`` or this
        node's class, and this node's consumers allow ``other``.
        """
        if self.uuid == other.uuid or self.factory_uuid == other.factory_uuid:
            return False
        if self.stage >= other.stage:
            return False
        consumers = self.output.consumer
        if consumers and other.factory_class not in consumers:
            return False
        inputs = other.find_input_by_type(
            self.output.delivery_type, self.output.delivery_id
        )
        return any(d.producer in (External, self.factory_class) for d in inputs)

    def to_diagram(self) -> str:
        """The Mermaid class of the factory, its output class and their link."""
        lines = [
            f"class {self.diagram_id} {{",
            f"    <<Factory[{pretty(self.output.delivery_type)}]>>",
        ]
        lines.extend(f"    +{pretty(d.payload_type)}" for d in self.expected_deliveries)
        lines.append("}")
        return "\n".join(
            [
                "\n".join(lines),
                self.output.to_diagram(),
                f"{self.output.diagram_id} <|.. {self.diagram_id} : Output",
            ]
        )

    def __str__(self) -> str:
        """A block naming the factory, its stage, inputs and output."""
        lines = [f"Factory: {pretty(self.factory_class)}", f"Stage: {self.stage}"]
        for delivery in self.expected_deliveries:
            line = (
                f"Input: {pretty(delivery.payload_type)} "
                f"from {pretty(delivery.producer)}"
            )
            if delivery.delivery_id:
                line += f" (delivery id: {delivery.delivery_id})"
            lines.append(line)
        output = f"Output: {pretty(self.output.delivery_type)}"
        if self.output.delivery_id:
            output += f" (delivery id: {self.output.delivery_id})"
        lines.extend([output, SEPARATOR])
        return "\n".join(lines)
