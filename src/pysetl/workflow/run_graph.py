"""``RunGraph``: the factories of a run and the deliveries between them, as plain data.

The pipeline hands one to the observers of ``before_pipeline_run`` (its
``graph`` argument): the run history stores it with the run's start, the
dashboard draws it. It is read from the resolution plan the run made, so
it is what runs (no second resolution), and it is built only when an
observer asks for it (``to_dict``): a run nobody draws pays one small
object.

Added in 0.7 (the run history read the inspector's plan before).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, final

if TYPE_CHECKING:
    from pysetl.workflow._inject import Plan

__all__ = ["RunGraph"]


@final
class RunGraph:
    """The graph of one run, built from its resolution plan when first asked.

    Nodes are the factories by their run names (``Fan``, ``Fan#2``...) with
    their stage; edges go from producer to consumer, named by the consumer's
    delivery attribute. An input from outside the pipeline is not drawn.

    Args:
        plan: The resolution plan of the run (``Inspector.plan``).

    Added in 0.7.
    """

    __slots__ = ("_data", "_plan")

    def __init__(self, plan: Plan) -> None:
        """Keep ``plan``; nothing is built until ``to_dict``."""
        self._plan = plan
        self._data: dict[str, Any] | None = None

    @classmethod
    def of(cls, pipeline: Any) -> RunGraph | None:
        """The graph of the run ``pipeline`` last made, ``None`` if it made none.

        Reads the plan of the pipeline's ``inspector`` (set by ``run()``).
        """
        inspector = getattr(pipeline, "inspector", None)
        plan = getattr(inspector, "plan", None)
        return None if plan is None else cls(plan)

    @property
    def factories(self) -> int:
        """How many factories the run has (the graph's nodes)."""
        return len(self._plan.names) - self._plan.first_factory

    def to_dict(self) -> dict[str, Any]:
        """The graph as JSON-ready data: ``{"nodes": [...], "edges": [...]}``.

        A node is ``{"id", "stage_id"}``, an edge ``{"source", "target",
        "delivery"}``. Built on the first call (one pass over the factories),
        then the same dict: treat it as read-only.
        """
        data = self._data
        if data is None:
            data = self._data = _graph(self._plan)
        return data

    def __repr__(self) -> str:
        """The class and the factory count."""
        return f"RunGraph(factories={self.factories})"


def _graph(plan: Plan) -> dict[str, Any]:
    # Read from the plan's lists (a Source view per factory would cost a
    # 10,000-factory run 10,000 objects): inputs are (slot, delivery,
    # producer's position) triples, an input from outside has a stage < 0.
    names, stages, flat, ends = plan.names, plan.stages, plan.inputs, plan.input_ends
    first = plan.first_factory
    nodes = [{"id": names[k], "stage_id": stages[k]} for k in range(first, len(names))]
    edges = []
    for k in range(first, len(names)):
        for i in range(ends[k - 1] if k else 0, ends[k], 3):
            producer = flat[i + 2]
            if stages[producer] >= 0:
                edges.append(
                    {"source": names[producer], "target": names[k], "delivery": flat[i]}
                )
    return {"nodes": nodes, "edges": edges}
