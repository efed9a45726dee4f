"""What dependency resolution returns: a ``Plan`` and the views of its sources.

``pysetl.workflow._inject.resolve`` fills a ``Plan``: every source of values
(external deliverables first, then the factories stage after stage), each
field in one list, the resolved inputs of each factory in one flat list,
and every ``Problem`` found. ``Source``, ``Wire`` and ``StageSources`` are
views made when asked for, so a run of N factories keeps no object per
factory for the garbage collector to scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

from pysetl.errors import DependencyResolutionError
from pysetl.utils._pretty import pretty

if TYPE_CHECKING:
    from pysetl.workflow.delivery import Delivery
    from pysetl.workflow.delivery_type import DeliveryType

__all__ = ["Plan", "Problem", "Source", "StageSources", "Wire"]


class Source:
    """One source of a plan's values: an external deliverable or a factory.

    A view of the ``Plan``'s arrays at ``position``, made when asked for: the
    plan keeps what each source is in one list per field (factory, output,
    name...), so a run of N factories keeps no object per factory for the
    garbage collector to scan. Two views of one position are equal.
    """

    __slots__ = ("plan", "position")

    def __init__(self, plan: Plan, position: int) -> None:
        """View the source at ``position`` of ``plan``."""
        self.plan = plan
        self.position = position

    @property
    def delivery_type(self) -> DeliveryType:
        """The type of the value."""
        return self.plan.types[self.position]

    @property
    def delivery_id(self) -> str:
        """The id of the value."""
        return self.plan.ids[self.position]

    @property
    def producer(self) -> type[Any]:
        """The factory class, or the deliverable's producer."""
        return self.plan.producers[self.position]

    @property
    def consumers(self) -> set[type[Any]] | frozenset[type[Any]]:
        """The classes it serves (empty: any)."""
        return self.plan.consumers[self.position]

    @property
    def stage(self) -> int:
        """The stage of the factory; -1 for an external input."""
        return self.plan.stages[self.position]

    @property
    def origin(self) -> Any:
        """The Deliverable, or the Factory instance."""
        return self.plan.origins[self.position]

    factory = origin

    @property
    def output(self) -> Any:
        """The payload; set for a factory once it has run."""
        return self.plan.outputs[self.position]

    @output.setter
    def output(self, value: Any) -> None:
        self.plan.outputs[self.position] = value

    @property
    def name(self) -> str:
        """The producer's name in the run (``Fan``, ``Fan#2``...); empty if external."""
        return self.plan.names[self.position]

    @property
    def inputs(self) -> tuple[Any, ...]:
        """(attribute name, Delivery, Source) of each resolved delivery, flat."""
        plan, position = self.plan, self.position
        flat = plan.inputs
        at, end = plan.input_span(position)
        found: list[Any] = []
        for i in range(at, end, 3):
            found += (flat[i], flat[i + 1], Source(plan, flat[i + 2]))
        return tuple(found)

    @property
    def wires(self) -> tuple[Wire, ...]:
        """The resolved deliveries of the factory, as ``Wire`` objects."""
        it = iter(self.inputs)
        return tuple(Wire(*triple) for triple in zip(it, it, it, strict=True))

    @property
    def external(self) -> bool:
        """Whether the value comes from outside the pipeline."""
        return self.stage < 0

    def describe(self) -> str:
        """``int (delivery_id='x') from Producer in stage 1``."""
        where = "as an external input" if self.external else f"in stage {self.stage}"
        text = (
            f"{pretty(self.delivery_type.tp)} (delivery_id={self.delivery_id!r}) "
            f"from {pretty(self.producer)} {where}"
        )
        if self.consumers:
            only = ", ".join(sorted(pretty(c) for c in self.consumers))
            text += f", only for {only}"
        return text

    def __eq__(self, other: object) -> bool:
        """Whether ``other`` views the same source of the same plan."""
        return (
            type(other) is Source
            and other.plan is self.plan
            and other.position == self.position
        )

    def __hash__(self) -> int:
        """Hash consistently with ``==``."""
        return hash((id(self.plan), self.position))

    def __repr__(self) -> str:
        """``Source(<position>: <describe()>)``."""
        return f"Source({self.position}: {self.describe()})"


@dataclass(slots=True, frozen=True)
class Wire:
    """One resolved delivery: the slot ``name`` of a factory, fed by ``source``.

    Made on demand from ``Source.inputs``: two wires are equal when they
    name the same slot, delivery and source.
    """

    name: str
    delivery: Delivery[Any]
    source: Source


@dataclass(slots=True)
class Problem:
    """One delivery that cannot be resolved."""

    kind: str  # missing, ambiguous, cyclic, order, wrong consumer
    consumer: str
    stage: int
    attribute: str
    delivery_type: str
    delivery_id: str
    producer: str
    candidates: list[str]
    hint: str
    detail: str = ""
    # The old pysetl's text for this failure (its contract message).
    legacy: str = ""

    def __str__(self) -> str:
        """One line naming the consumer, the delivery, the candidates and a hint."""
        found = "; ".join(self.candidates) if self.candidates else "none"
        detail = f" {self.detail}" if self.detail else ""
        return (
            f"[{self.kind}] {self.consumer}.{self.attribute} (stage {self.stage}) "
            f"needs {self.delivery_type} (delivery_id={self.delivery_id!r}, "
            f"producer={self.producer}).{detail} Candidates: {found}. "
            f"Hint: {self.hint}"
        )


@dataclass(slots=True)
class Plan:
    """The outcome of ``resolve``: every wire, and every problem found.

    The plan keeps each field of its sources in one list (``origins``,
    ``outputs``, ``names``...), external inputs first, then the factories
    stage after stage (``stage_starts[i]`` is where stage ``i`` begins among
    the factories); ``inputs`` is one flat list of (attribute name,
    Delivery, source position) for every factory, ``input_ends[k]`` where
    the inputs of source ``k`` end. A run of N factories costs the plan no
    object per factory (positions and names are not scanned by the garbage
    collector); ``Source`` views are made when asked for.
    """

    pipeline: str
    inputs: list[Any] = field(default_factory=list)
    stage_starts: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    types: list[DeliveryType] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    producers: list[type[Any]] = field(default_factory=list)
    consumers: list[set[type[Any]] | frozenset[type[Any]]] = field(default_factory=list)
    stages: list[int] = field(default_factory=list)
    origins: list[Any] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    input_ends: list[int] = field(default_factory=list)
    # Whether the factory's class reads ``is_writable`` from ``_write``.
    plain_writable: list[bool] = field(default_factory=list)
    # The classes the factory's output must be an instance of (None: any).
    output_checks: list[tuple[type, ...] | None] = field(default_factory=list)
    first_factory: int = 0  # the position of the first factory's source

    def add(  # noqa: PLR0917 - one source, field by field
        self,
        delivery_type: DeliveryType,
        delivery_id: str,
        producer: type[Any],
        consumers: set[type[Any]] | frozenset[type[Any]],
        stage: int,
        origin: Any,
        output: Any = None,
        name: str = "",
    ) -> int:
        """Append a source without inputs; its position."""
        self.types.append(delivery_type)
        self.ids.append(delivery_id)
        self.producers.append(producer)
        self.consumers.append(consumers)
        self.stages.append(stage)
        self.origins.append(origin)
        self.outputs.append(output)
        self.names.append(name)
        self.input_ends.append(len(self.inputs))
        self.plain_writable.append(False)
        self.output_checks.append(None)
        return len(self.origins) - 1

    def input_span(self, position: int) -> tuple[int, int]:
        """Where the inputs of the source at ``position`` are in ``inputs``."""
        ends = self.input_ends
        return (ends[position - 1] if position else 0), ends[position]

    def source(self, position: int) -> Source:
        """A view of the source at ``position``."""
        return Source(self, position)

    @property
    def externals(self) -> list[Source]:
        """The external inputs, in the order given."""
        return [Source(self, k) for k in range(self.first_factory)]

    @property
    def sources(self) -> list[Source]:
        """The factories' sources, stage after stage (a new list on each call)."""
        return [Source(self, k) for k in range(self.first_factory, len(self.origins))]

    def stage_span(self, stage_id: int) -> tuple[int, int]:
        """The positions of the sources of stage ``stage_id``: ``range(*span)``."""
        starts = self.stage_starts
        first = self.first_factory
        end = starts[stage_id + 1] if stage_id + 1 < len(starts) else None
        return (
            first + starts[stage_id],
            len(self.origins) if end is None else first + end,
        )

    def sources_of(self, stage_id: int) -> list[Source]:
        """The sources of the factories of stage ``stage_id``, in order."""
        return [Source(self, k) for k in range(*self.stage_span(stage_id))]

    @property
    def stage_sources(self) -> list[list[Source]]:
        """The sources of each stage's factories (a new list on each call)."""
        return [self.sources_of(i) for i in range(len(self.stage_starts))]

    @property
    def stage_wires(self) -> list[list[tuple[Wire, ...]]]:
        """The wires of each factory of each stage (a new list on each call)."""
        return [[s.wires for s in sources] for sources in self.stage_sources]

    def wires_of(self, stage_id: int, position: int) -> tuple[Wire, ...]:
        """The wires of the factory at ``position`` in stage ``stage_id``."""
        return Source(self, self.stage_span(stage_id)[0] + position).wires

    def raise_for_problems(self) -> None:
        """Raise one error listing every problem, if there is any.

        Raises:
            DependencyResolutionError: At least one delivery cannot be resolved.
        """
        if not self.problems:
            return
        lines = [str(p) for p in self.problems]
        count = len(lines)
        noun = "delivery" if count == 1 else "deliveries"
        listing = f"{count} {noun} of pipeline {self.pipeline!r} cannot be resolved:\n"
        listing += "\n".join(f"  - {line}" for line in lines)
        candidates = sorted({c for p in self.problems for c in p.candidates})
        # str(error) is the old pysetl's text for the first problem (code and
        # tests compare it); every problem is on .problems and in a note.
        error = DependencyResolutionError(
            self.problems[0].legacy or listing,
            hint="fix every wiring listed above; nothing has run yet",
            problems=lines,
            candidates=candidates,
        )
        error.__notes__ = [listing, *error.__notes__]
        raise error


class StageSources(Sequence[Source]):
    """The sources of one stage of a plan: views made when read.

    What a stage run with nothing observing or timing returns as its
    records: no object per factory while the stage runs.
    """

    __slots__ = ("first", "last", "plan", "stage_id")

    def __init__(self, plan: Plan, stage_id: int) -> None:
        """The sources of stage ``stage_id`` of ``plan``."""
        self.plan = plan
        self.stage_id = stage_id
        self.first, self.last = plan.stage_span(stage_id)

    def __len__(self) -> int:
        """How many factories the stage has."""
        return self.last - self.first

    @overload
    def __getitem__(self, index: int) -> Source: ...

    @overload
    def __getitem__(self, index: slice) -> list[Source]: ...

    def __getitem__(self, index: int | slice) -> Source | list[Source]:
        """The view of the ``index``-th factory's source (or a list of them)."""
        positions = range(self.first, self.last)[index]
        if isinstance(positions, range):
            return [Source(self.plan, k) for k in positions]
        return Source(self.plan, positions)
