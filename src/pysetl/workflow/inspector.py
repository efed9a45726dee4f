"""``Inspector``: builds the DAG of a pipeline from its resolution plan."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from pysetl.errors import PipelineError
from pysetl.workflow.dag import DAG
from pysetl.workflow.external import External
from pysetl.workflow.flow import Flow
from pysetl.workflow.node import Node
from pysetl.workflow.node_output import NodeOutput

if TYPE_CHECKING:
    from typing_extensions import Self

    from pysetl.workflow._inject import Plan
    from pysetl.workflow.factory import Factory
    from pysetl.workflow.pipeline import Pipeline
    from pysetl.workflow.stage import Stage

__all__ = ["Inspector"]

HEADER = "========== Pipeline Summary ==========\n\n"


class Inspector:
    """The DAG of a pipeline: one node per factory, one flow per resolved input.

    Flows follow the same resolution as the run (``pysetl.workflow._inject``),
    so the picture is what will run. An input declared with the ``External``
    producer that no factory provides is drawn as coming from outside.

    Args:
        pipeline: The pipeline to inspect.
        plan: A resolution plan already made for it (``Pipeline.run`` passes
            its own, so the graph is built once per run, and only if asked for).
    """

    def __init__(self, pipeline: Pipeline, plan: Plan | None = None) -> None:
        """Inspect ``pipeline`` (lazily when ``plan`` is given)."""
        # A weak reference: the pipeline keeps its inspector, and a cycle
        # between them would leave every run's objects to the garbage
        # collector instead of freeing them with the pipeline.
        self._pipeline = weakref.ref(pipeline)
        self._plan = plan
        # Read when the graph is built: a run's inspector asks for no stage
        # (see ``pysetl.workflow._lazy_stages``).
        self._stages: list[Stage] | None = None
        self._nodes: dict[int, Node] | None = None
        self._flows: list[Flow] = []
        if plan is None:
            self.inspect()

    @property
    def pipeline(self) -> Pipeline:
        """The inspected pipeline.

        Raises:
            PipelineError: The pipeline no longer exists.
        """
        pipeline = self._pipeline()
        if pipeline is None:
            msg = "The inspected pipeline no longer exists"
            raise PipelineError(
                msg, hint="keep a reference to the pipeline while inspecting it"
            )
        return pipeline

    def inspect(self) -> Self:
        """Resolve the pipeline again and rebuild the graph.

        Raises:
            PipelineError: One factory instance is in two stages, or the
                pipeline no longer exists.
        """
        pipeline = self.pipeline
        self._plan = pipeline.resolve()
        self._stages = pipeline.stages
        self._nodes = None
        self._build()
        return self

    def _build(self) -> dict[int, Node]:
        if self._nodes is not None:
            return self._nodes
        plan = self._plan
        assert plan is not None  # noqa: S101 - set by __init__ or inspect()
        nodes: dict[int, Node] = {}
        position = 0
        stages = self._planned_stages(plan)
        for stage in stages:
            for factory in stage.factories:
                nodes[id(factory)] = Node.from_factory(
                    factory, stage.stage_id, stage.end, position
                )
                position += 1
        flows: list[Flow] = []
        for stage_wires, stage in zip(plan.stage_wires, stages, strict=True):
            for wires, factory in zip(stage_wires, stage.factories, strict=True):
                node = nodes[id(factory)]
                wired = {w.name for w in wires}
                for wire in wires:
                    source = wire.source
                    if source.external:
                        flows.append(_external_flow(wire.delivery, node))
                    else:
                        flows.append(Flow(nodes[id(source.origin)], node))
                for name, delivery in type(factory).declared_deliveries():
                    if name not in wired and delivery.producer is External:
                        flows.append(_external_flow(delivery, node))
        self._nodes = nodes
        self._flows = flows
        return nodes

    def _planned_stages(self, plan: Plan) -> list[Stage]:
        """The stages the plan was made of (read once, when first needed)."""
        stages = self._stages
        if stages is None:
            stages = self._stages = self.pipeline.stages[: len(plan.stage_starts)]
        return stages

    @property
    def plan(self) -> Plan:
        """The resolution plan the graph is built from (what the run would use).

        Its sources name each factory as the run does (``Fan``, ``Fan#2``),
        give each delivery's source (``Source.wires``) and list the
        deliveries that cannot be resolved (``problems``).

        Added in 0.5.
        """
        plan = self._plan
        assert plan is not None  # noqa: S101 - set by __init__ or inspect()
        return plan

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> dict[str, str]:
        """The graph for Jupyter: HTML (an SVG by stage), Mermaid and text."""
        del include, exclude  # Jupyter's arguments: every format is cheap
        from pysetl.workflow import render  # noqa: PLC0415 - imports this module
        from pysetl.workflow.view import describe_inspected  # noqa: PLC0415

        return render.mimebundle(describe_inspected(self))

    def _repr_html_(self) -> str:
        """The graph as HTML (an SVG laid out by stage), for Jupyter."""
        return self._repr_mimebundle_()["text/html"]

    @property
    def nodes(self) -> set[Node]:
        """One node per factory."""
        return set(self._build().values())

    @property
    def flows(self) -> set[Flow]:
        """One flow per input."""
        self._build()
        return set(self._flows)

    @property
    def graph(self) -> DAG:
        """The DAG."""
        return DAG(self.nodes, self.flows)

    def find_node(self, factory: Factory[Any]) -> Node | None:
        """The node of ``factory``, or ``None``."""
        return self._build().get(id(factory))

    def __str__(self) -> str:
        """The pipeline summary."""
        return HEADER + str(self.graph)

    __repr__ = __str__


def _external_flow(delivery: Any, node: Node) -> Flow:
    output = NodeOutput(
        delivery.payload_type, set(), delivery.delivery_id, external=True
    )
    return Flow(Node.external(output), node)
