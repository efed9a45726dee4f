"""Dependency resolution: which deliverable fills which delivery.

Every source of values (an external ``Deliverable`` or a factory of some
stage) is indexed by ``(DeliveryType, delivery_id)`` and by
``(DeliveryType, delivery_id, producer)``, so resolving one delivery is a
constant-time lookup. The rule, for a delivery of factory ``C`` in stage ``s``:

1. candidates have the delivery's type and id; if the delivery names a
   producer other than ``External``, only that producer's outputs count (the
   declared producer is always honoured);
2. only sources that run before stage ``s`` count (externals always do);
   stages are resolved in order, so the index only holds those;
3. a source whose ``consumers`` set is non-empty serves only those classes;
4. among several candidates, an undeclared producer prefers external inputs,
   then sources that name ``C`` as a consumer;
5. exactly one candidate must remain.

``resolve`` checks every delivery of a pipeline before anything runs and
returns a ``Plan``; ``Plan.raise_for_problems`` raises one
``DependencyResolutionError`` that lists every problem at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

from pysetl.errors import DependencyResolutionError, PipelineError
from pysetl.utils._pretty import pretty
from pysetl.workflow.external import External
from pysetl.workflow.factory import FIRST_DELIVERY, class_record

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pysetl.workflow.deliverable import Deliverable
    from pysetl.workflow.delivery import Delivery
    from pysetl.workflow.delivery_type import DeliveryType
    from pysetl.workflow.factory import Factory

__all__ = [
    "Plan",
    "Problem",
    "Source",
    "StageSources",
    "Wire",
    "choose",
    "resolve",
]

MAX_HINT_CANDIDATES = 5


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


def choose(
    candidates: Sequence[Any], consumer: type[Any], producer: type[Any]
) -> tuple[list[Any], list[Any]]:
    """Apply rules 3 and 4 to ``candidates`` (already filtered by type, id, stage).

    Returns:
        The remaining candidates (one means resolved), and the candidates
        that the consumer rule allowed (to tell "wrong consumer" apart).
    """
    allowed = [c for c in candidates if not c.consumers or consumer in c.consumers]
    remaining = allowed
    if len(remaining) > 1 and producer is External:
        externals = [c for c in remaining if c.producer is External]
        remaining = externals or remaining
    if len(remaining) > 1:
        named = [c for c in remaining if c.consumers]
        remaining = named or remaining
    return remaining, allowed


class _Index:
    """Sources indexed by type and id, and by type, id and producer.

    ``by_key[type key][delivery_id]`` is one source position, or a list of
    them when there are several: most keys have one, and a run indexes
    thousands.
    """

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.by_key: dict[Any, dict[str, int | list[int]]] = {}
        # Built on first use: most pipelines never declare a producer.
        self._by_producer: dict[tuple[Any, str, type[Any]], list[int]] = {}
        self._indexed = 0  # positions below this are in _by_producer
        self.size = 0  # positions below this are indexed

    def add_upto(self, end: int) -> None:
        """Index the plan's sources up to position ``end``."""
        plan = self.plan
        types, ids = plan.types, plan.ids
        by_key = self.by_key
        for k in range(self.size, end):
            key = types[k].key
            found_ids = by_key.get(key)
            if found_ids is None:
                found_ids = by_key[key] = {}
            delivery_id = ids[k]
            found = found_ids.get(delivery_id)
            if found is None:
                found_ids[delivery_id] = k
            elif type(found) is int:
                found_ids[delivery_id] = [found, k]
            else:
                found.append(k)  # type: ignore[union-attr]
        self.size = end

    def by_producer(self) -> dict[tuple[Any, str, type[Any]], list[int]]:
        index = self._by_producer
        plan = self.plan
        for k in range(self._indexed, self.size):
            key = (plan.types[k].key, plan.ids[k], plan.producers[k])
            index.setdefault(key, []).append(k)
        self._indexed = self.size
        return index

    def views(self, positions: Iterable[int]) -> list[Source]:
        plan = self.plan
        return [Source(plan, k) for k in positions]

    def same_type(self, dtype: DeliveryType) -> list[Source]:
        types = self.plan.types
        return self.views(k for k in range(self.size) if types[k] == dtype)

    def find(self, key: Any, delivery_id: str) -> int | list[int] | None:
        """The candidates by type key and id (one, several, or none), any producer."""
        ids = self.by_key.get(key)
        return None if ids is None else ids.get(delivery_id)

    def lookup(self, delivery: Delivery[Any]) -> list[Source]:
        key = delivery.delivery_type().key
        if delivery.producer is External:
            found = self.find(key, delivery.delivery_id)
            if found is None:
                return []
            return self.views(found if type(found) is list else [found])  # type: ignore[list-item]
        triple = (key, delivery.delivery_id, delivery.producer)
        return self.views(self.by_producer().get(triple, ()))


def resolve(  # noqa: C901, PLR0915 - the hot loop over every factory, in one frame
    stages: Iterable[Sequence[Factory[Any]]],
    externals: Sequence[Deliverable[Any]],
    pipeline: str = "pipeline",
) -> Plan:
    """Resolve every delivery of every factory; collect the problems.

    Args:
        stages: The factories of each stage, in order (iterated once).
        externals: The deliverables given to the pipeline.
        pipeline: The pipeline's name, for messages.

    Returns:
        The plan; call ``raise_for_problems()`` to fail on bad wiring.

    Raises:
        PipelineError: One factory instance is in two stages.
    """
    plan = Plan(pipeline=pipeline)
    for deliverable in externals:
        plan.add(
            deliverable.payload_type,
            deliverable.delivery_id,
            deliverable.producer,
            deliverable.consumers,
            -1,
            deliverable,
            deliverable.payload,
        )
    plan.first_factory = first_factory = len(plan.origins)
    index = _Index(plan)
    index.add_upto(first_factory)
    # One sweep, stage by stage: a stage's deliveries are resolved against the
    # sources of the stages before it, then its own sources join the index.
    # Failures are explained once the index is complete. Each field of a
    # source goes to its own list (see ``Plan``).
    flat = plan.inputs
    starts = plan.stage_starts
    add_type, add_id = plan.types.append, plan.ids.append
    add_producer, add_consumers = plan.producers.append, plan.consumers.append
    add_stage, add_origin = plan.stages.append, plan.origins.append
    add_name, add_end = plan.names.append, plan.input_ends.append
    add_plain = plan.plain_writable.append
    add_check = plan.output_checks.append
    origins = plan.origins
    consumers_of = plan.consumers
    by_key = index.by_key
    seen: dict[int, int] = {}
    # Several instances of one class in a run get distinct names (``Fan``,
    # ``Fan#2``...): names key the run history, events and Spark job groups.
    uses: dict[str, int] = {}
    failed: list[tuple[Factory[Any], int, str, Delivery[Any]]] = []
    for stage_id, factories in enumerate(stages):
        starts.append(len(origins) - first_factory)
        for factory in factories:
            cls = type(factory)
            record = class_record(cls)
            for i in range(FIRST_DELIVERY, len(record), 3):  # attr, delivery, key
                delivery = record[i + 1]
                chosen: int | None = None
                if delivery.producer is External:
                    ids = by_key.get(record[i + 2])
                    found = None if ids is None else ids.get(delivery.delivery_id)
                    if type(found) is int:  # one candidate: the common case
                        only = consumers_of[found]
                        if not only or cls in only:
                            chosen = found
                    elif found is not None:
                        chosen = _choose_one(index, delivery, cls)
                else:
                    chosen = _choose_one(index, delivery, cls)
                if chosen is None:
                    failed.append((factory, stage_id, record[i], delivery))
                else:
                    flat += (record[i], delivery, chosen)
            key = id(factory)
            if key in seen:
                msg = "Multiple factories found"
                hint = (
                    f"{factory!r} is in stage {seen[key]} and in stage {stage_id}: "
                    "add a new instance to each stage"
                )
                raise PipelineError(msg, hint=hint)
            seen[key] = stage_id
            name = record[1]
            count = uses[name] = uses.get(name, 0) + 1
            add_type(record[0])
            add_id(factory.delivery_id)
            add_producer(cls)
            add_consumers(factory.consumers)
            add_stage(stage_id)
            add_origin(factory)
            add_name(name if count == 1 else f"{name}#{count}")
            add_end(len(flat))
            add_plain(record[2])
            add_check(record[3])
        index.add_upto(len(origins))
    plan.outputs += [None] * (len(origins) - first_factory)
    plan.problems += (_explain(index, *failure) for failure in failed)
    return plan


def _explain(
    index: _Index,
    factory: Factory[Any],
    stage_id: int,
    name: str,
    delivery: Delivery[Any],
) -> Problem:
    """The problem of a delivery that did not resolve, once every source is known.

    The consumer's own output is no candidate: a factory never consumes what
    it produces, so an input that only the consumer itself would produce is
    missing (not a cycle of one factory). Nor is the output of another
    instance of its class in the same stage or later: it needs the same
    input, so only the consumer's class would produce it.
    """
    found = index.lookup(delivery)
    cls = type(factory)
    candidates = [
        c
        for c in found
        if c.origin is not factory
        and not (type(c.origin) is cls and c.stage >= stage_id)
    ]
    early = [c for c in candidates if c.stage < stage_id]
    remaining, allowed = choose(early, cls, delivery.producer)
    return _problem(
        index,
        factory,
        stage_id,
        name,
        delivery,
        candidates,
        (remaining, allowed, early),
        itself=len(candidates) < len(found),
    )


def _choose_one(
    index: _Index, delivery: Delivery[Any], consumer: type[Any]
) -> int | None:
    """The position of the one source for ``delivery`` among those indexed."""
    remaining, _ = choose(index.lookup(delivery), consumer, delivery.producer)
    return remaining[0].position if len(remaining) == 1 else None


def _problem(  # noqa: PLR0917 - one internal call site passes everything
    index: _Index,
    factory: Factory[Any],
    stage_id: int,
    name: str,
    delivery: Delivery[Any],
    candidates: list[Source],
    chosen: tuple[list[Source], list[Source], list[Source]],
    *,
    itself: bool,
) -> Problem:
    """Classify a failed delivery: ambiguous, wrong consumer, cyclic, order, missing.

    ``chosen`` is what ``choose`` left of the earlier candidates, what the
    consumer rule allowed, and the earlier candidates; ``itself`` says
    whether the consumer would have been a candidate of its own.
    """
    remaining, allowed, early = chosen
    cls = type(factory)
    type_name = pretty(delivery.payload_type)
    producer = pretty(delivery.producer)
    consumer = pretty(cls)

    def make(
        kind: str, found: list[Source], hint: str, detail: str = "", legacy: str = ""
    ) -> Problem:
        return Problem(
            kind,
            consumer,
            stage_id,
            name,
            type_name,
            delivery.delivery_id,
            producer,
            [s.describe() for s in found],
            hint,
            detail,
            legacy or f"Cannot find type {delivery.payload_type}",
        )

    if remaining:
        return make(
            "ambiguous",
            remaining,
            "give each candidate its own delivery_id, or declare "
            "Delivery(producer=...) to pick one",
            "Find multiple deliveries having the sametype, producer and consumer.",
            "Find multiple deliveries having the sametype, producer and consumer",
        )
    if early:
        return make(
            "wrong consumer",
            early,
            f"add {consumer} to the producer's consumers, or consume another delivery",
            f"Can't find {consumer} in consumer list.",
            f"Can't find {consumer} in consumer list",
        )
    if candidates:
        late = [c for c in candidates if not c.external and c not in allowed]
        for source in late:
            cycle = _find_cycle(index, source.origin, factory)
            if cycle is not None:
                path = " -> ".join(pretty(type(f)) for f in [factory, *cycle])
                return make(
                    "cyclic",
                    candidates,
                    "break the cycle: one of these factories must not need the other",
                    f"Cycle: {path}.",
                )
        return make(
            "order",
            candidates,
            f"move the producer to a stage before stage {stage_id}: factories of "
            "one stage cannot consume each other's outputs",
            f"It is produced in stage {min(c.stage for c in candidates)} or later.",
        )
    same_type = index.same_type(delivery.delivery_type())
    others = [s for s in same_type if s.origin is not factory][:MAX_HINT_CANDIDATES]
    detail = (
        f"Deliverable of type {type_name} with deliveryId {delivery.delivery_id} "
        f"produced by {producer} is expected in {consumer}."
    )
    if others:
        hint = (
            "a deliverable of this type exists with another delivery_id or "
            "producer: match the Delivery's delivery_id and producer to it"
        )
    else:
        hint = (
            "add a factory that produces it to an earlier stage, or register it "
            "with Pipeline.set_input_from_deliverable(Deliverable[...](...))"
        )
    if itself:
        hint = (
            f"{consumer} produces {type_name} itself, but a factory never "
            f"consumes its own output; {hint}"
        )
    return make("missing", others, hint, detail, detail)


def _find_cycle(
    index: _Index, start: Factory[Any], target: Factory[Any]
) -> list[Factory[Any]] | None:
    """A path of factories from ``start`` back to ``target`` through wanted inputs.

    ``start`` is another factory than ``target`` (see ``_explain``).
    """
    stack: list[tuple[Factory[Any], list[Factory[Any]]]] = [(start, [start])]
    seen = {id(start)}
    while stack:
        factory, path = stack.pop()
        for _, delivery in type(factory).declared_deliveries():
            for source in index.lookup(delivery):
                origin = source.origin
                if source.external or id(origin) in seen:
                    continue
                if origin is target:
                    return [*path, target]
                seen.add(id(origin))
                stack.append((origin, [*path, origin]))
    return None
