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
``DependencyResolutionError`` that lists every problem at once. The plan
and the views of its sources are in ``_plan`` (kept importable from here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pysetl.errors import PipelineError
from pysetl.utils._pretty import pretty
from pysetl.workflow._plan import Plan, Problem, Source, StageSources, Wire
from pysetl.workflow.external import External
from pysetl.workflow.factory import FIRST_DELIVERY, class_record

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

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
