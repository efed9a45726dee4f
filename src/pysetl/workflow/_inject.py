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

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pysetl.errors import DependencyResolutionError, PipelineError
from pysetl.utils._pretty import pretty
from pysetl.workflow.external import External
from pysetl.workflow.factory import factory_info

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from pysetl.workflow.deliverable import Deliverable
    from pysetl.workflow.delivery import Delivery
    from pysetl.workflow.delivery_type import DeliveryType
    from pysetl.workflow.factory import Factory

__all__ = ["Plan", "Problem", "Source", "Wire", "choose", "resolve"]

MAX_HINT_CANDIDATES = 5


@dataclass(slots=True, eq=False)
class Source:
    """Something that offers a value: an external deliverable or a factory."""

    delivery_type: DeliveryType
    delivery_id: str
    producer: type[Any]
    consumers: set[type[Any]] | frozenset[type[Any]]
    stage: int  # -1 for external inputs
    origin: Any  # the Deliverable, or the Factory instance
    output: Any = None  # the payload; set for a factory when it has run
    name: str = ""  # the producer's name, looked up once
    # What feeds the factory: ``flat[at:end]`` holds (attribute name,
    # Delivery, Source) for each resolved delivery, in one list for the whole
    # plan: no tuple, nor ``Wire`` objects, per factory for the garbage
    # collector to scan.
    flat: list[Any] | None = None
    at: int = 0
    end: int = 0

    @property
    def inputs(self) -> tuple[Any, ...]:
        """(attribute name, Delivery, Source) of each resolved delivery, flat."""
        flat = self.flat
        return () if flat is None else tuple(flat[self.at : self.end])

    @property
    def factory(self) -> Any:
        """The factory (or deliverable) that offers the value."""
        return self.origin

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

    The sources of the factories are kept in one list, stage after stage
    (``sources``; ``stage_starts[i]`` is where stage ``i`` begins), and each
    says where its factory's inputs are in ``inputs``, one flat list for the
    plan: a run of N factories costs N sources, not tuples, lists and wires
    besides (``stage_wires`` makes wires when asked).
    """

    pipeline: str
    sources: list[Source] = field(default_factory=list)
    inputs: list[Any] = field(default_factory=list)  # every Source.flat
    stage_starts: list[int] = field(default_factory=list)
    externals: list[Source] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def sources_of(self, stage_id: int) -> list[Source]:
        """The sources of the factories of stage ``stage_id``, in order."""
        starts = self.stage_starts
        end = starts[stage_id + 1] if stage_id + 1 < len(starts) else None
        return self.sources[starts[stage_id] : end]

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
        return self.sources[self.stage_starts[stage_id] + position].wires

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

    ``by_key[type key][delivery_id]`` is one source, or a list of them when
    there are several: most keys have one, and a run indexes thousands.
    """

    def __init__(self) -> None:
        self.sources: list[Source] = []
        self.by_key: dict[Any, dict[str, Source | list[Source]]] = {}
        # Built on first use: most pipelines never declare a producer.
        self._by_producer: dict[tuple[Any, str, type[Any]], list[Source]]
        self._by_producer = {}
        self._indexed = 0

    def add(self, source: Source) -> None:
        self.sources.append(source)
        key = source.delivery_type.key
        ids = self.by_key.get(key)
        if ids is None:
            ids = self.by_key[key] = {}
        found = ids.get(source.delivery_id)
        if found is None:
            ids[source.delivery_id] = source
        elif isinstance(found, list):
            found.append(source)
        else:
            ids[source.delivery_id] = [found, source]

    def by_producer(self) -> dict[tuple[Any, str, type[Any]], list[Source]]:
        index = self._by_producer
        sources = self.sources
        for source in sources[self._indexed :]:
            key = (source.delivery_type.key, source.delivery_id, source.producer)
            index.setdefault(key, []).append(source)
        self._indexed = len(sources)
        return index

    def same_type(self, dtype: DeliveryType) -> list[Source]:
        return [s for s in self.sources if s.delivery_type == dtype]

    def find(self, delivery: Delivery[Any]) -> Source | list[Source] | None:
        """The candidates by type and id (one, several, or none), any producer."""
        ids = self.by_key.get(delivery.delivery_type().key)
        return None if ids is None else ids.get(delivery.delivery_id)

    def lookup(self, delivery: Delivery[Any]) -> list[Source]:
        if delivery.producer is External:
            found = self.find(delivery)
            if found is None:
                return []
            return found if isinstance(found, list) else [found]
        key = (delivery.delivery_type().key, delivery.delivery_id, delivery.producer)
        return self.by_producer().get(key, [])


def resolve(
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
    index = _Index()
    for deliverable in externals:
        source = Source(
            deliverable.payload_type,
            deliverable.delivery_id,
            deliverable.producer,
            deliverable.consumers,
            -1,
            deliverable,
            deliverable.payload,
        )
        plan.externals.append(source)
        index.add(source)
    # One sweep, stage by stage: a stage's deliveries are resolved against the
    # sources of the stages before it, then its own sources join the index.
    # Failures are explained once the index is complete.
    sources = plan.sources
    flat = plan.inputs
    starts = plan.stage_starts
    seen: dict[int, int] = {}
    # Several instances of one class in a run get distinct names (``Fan``,
    # ``Fan#2``...): names key the run history, events and Spark job groups.
    uses: dict[str, int] = {}
    failed: list[tuple[Factory[Any], int, str, Delivery[Any]]] = []
    for stage_id, factories in enumerate(stages):
        first = len(sources)
        starts.append(first)
        for factory in factories:
            cls = type(factory)
            info = factory_info(cls)
            at = len(flat)
            for name, delivery in info.deliveries:
                chosen = _choose_one(index, delivery, cls)
                if chosen is None:
                    failed.append((factory, stage_id, name, delivery))
                else:
                    flat += (name, delivery, chosen)
            key = id(factory)
            if key in seen:
                msg = "Multiple factories found"
                hint = (
                    f"{factory!r} is in stage {seen[key]} and in stage {stage_id}: "
                    "add a new instance to each stage"
                )
                raise PipelineError(msg, hint=hint)
            seen[key] = stage_id
            count = uses[info.name] = uses.get(info.name, 0) + 1
            sources.append(
                Source(
                    info.delivery_type,
                    factory.delivery_id,
                    cls,
                    factory.consumers,
                    stage_id,
                    factory,
                    None,
                    info.name if count == 1 else f"{info.name}#{count}",
                    flat,
                    at,
                    len(flat),
                )
            )
        for i in range(first, len(sources)):
            index.add(sources[i])
    for factory, stage_id, name, delivery in failed:
        candidates = index.lookup(delivery)
        early = [c for c in candidates if c.stage < stage_id]
        remaining, allowed = choose(early, type(factory), delivery.producer)
        plan.problems.append(
            _problem(
                index,
                factory,
                stage_id,
                name,
                delivery,
                candidates,
                remaining,
                allowed,
                early,
            )
        )
    return plan


def _choose_one(
    index: _Index, delivery: Delivery[Any], consumer: type[Any]
) -> Source | None:
    """The one source for ``delivery`` among those indexed, or ``None``."""
    if delivery.producer is External:
        found = index.find(delivery)
        if found is None:
            return None
        if not isinstance(found, list):  # one candidate: the common case
            consumers = found.consumers
            return found if not consumers or consumer in consumers else None
        candidates = found
    else:
        candidates = index.lookup(delivery)
    remaining, _ = choose(candidates, consumer, delivery.producer)
    return remaining[0] if len(remaining) == 1 else None


def _problem(  # noqa: PLR0917 - one internal call site passes everything
    index: _Index,
    factory: Factory[Any],
    stage_id: int,
    name: str,
    delivery: Delivery[Any],
    candidates: list[Source],
    remaining: list[Source],
    allowed: list[Source],
    early: list[Source],
) -> Problem:
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
    return make("missing", others, hint, detail, detail)


def _find_cycle(
    index: _Index, start: Factory[Any], target: Factory[Any]
) -> list[Factory[Any]] | None:
    """A path of factories from ``start`` back to ``target`` through wanted inputs."""
    if start is target:
        return [target]
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
