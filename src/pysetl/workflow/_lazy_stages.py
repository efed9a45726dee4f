"""Stages made on demand: a factory added on its own is kept without its ``Stage``.

``Pipeline.add_stage_from_type`` and ``Pipeline.add_stage_from_factory`` add a
stage that holds one factory. The pipeline keeps the factory itself in its
registry's list, in that stage's place (a "lone factory"), and makes the
``Stage`` when anything asks for the stages: ``Pipeline.stages``, the
registry's accessors, a run that is observed, timed or parallel. The stage
made then is the one ``add_stage`` would have held: same ``stage_id``, same
``end`` flag and, once the pipeline has run, the same records.

Why: every object that lives as long as a run is scanned by each pass of the
garbage collector over the young objects, and counts towards its full
collections, which walk every object of the process. A chain of N factories
built with ``add_stage_from_type`` keeps N objects less.

Added in 0.2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pysetl.utils.mixins import HasRegistry
from pysetl.workflow.stage import Stage

if TYPE_CHECKING:
    from uuid import UUID

    from pysetl.workflow._inject import Plan
    from pysetl.workflow.factory import Factory

__all__ = ["LazyStages", "is_stage"]


def is_stage(entry: object) -> bool:
    """Whether a registry entry is a ``Stage`` (else it is a lone factory).

    Read from the class's MRO: ``isinstance`` would go through ``ABCMeta``,
    which caches every factory class it is asked about.
    """
    kind = type(entry)
    return kind is Stage or Stage in kind.__mro__


class LazyStages(HasRegistry[Stage]):
    """A registry of stages that holds lone factories until asked for stages."""

    _lone: int = 0  # lone factories in the registry's list
    _lone_end: bytearray | None = None  # their ``end`` flags, by position
    _ran: tuple[Plan, int] | None = None  # the last run's plan, and its stage count
    _made: int = 0  # how many times the lone factories were made into stages

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Start with an empty registry."""
        super().__init__(*args, **kwargs)
        self._lone = 0
        self._lone_end = None
        self._ran = None
        self._made = 0

    # ------------------------------------------------ the registry, as stages
    def _listed_items(self) -> list[Stage] | None:
        """The stages while they are listed (lone factories made into stages)."""
        if self._lone:
            self._make_stages()
        return super()._listed_items()

    @property
    def _registry(self) -> dict[UUID, Stage]:
        """The dict keyed by UUID (lone factories made into stages first)."""
        if self._lone:
            self._make_stages()
        return super()._registry

    # --------------------------------------------------------- the entries
    def _entries(self) -> list[Any]:
        """The entries as they are: stages and lone factories (to read only)."""
        items = HasRegistry._listed_items(self)  # noqa: SLF001 - the base's, as is
        if items is None:  # a dict: lone factories are made into stages first
            return list(self._by_uuid.values()) if self._by_uuid else []
        return items

    def _entry_factories(self) -> Any:
        """The factories of each entry, in order (one entry at a time)."""
        for entry in self._entries():
            yield entry.factories if is_stage(entry) else (entry,)

    def _clear_end(self, position: int, entry: Any) -> None:
        """Clear the ``end`` flag of the entry at ``position``."""
        if is_stage(entry):
            entry.end = False
        elif self._lone_end is not None:
            self._lone_end[position] = 0

    def _add_lone(self, factory: Factory[Any]) -> bool:
        """Append a stage of ``factory`` alone, as the factory; ``False`` if not.

        Not when the registry is a dict (its keys are the stages' UUIDs).
        No duplicate check: a stage made for the factory would be new, and
        the pre-flight check reports a factory in two stages.
        """
        if self._by_uuid is not None:
            return False
        one, items = self._one, self._items
        if items is not None:
            position = len(items)
            self._clear_end(position - 1, items[-1])
            items.append(factory)  # type: ignore[arg-type]
        elif one is not None:
            position = 1
            self._clear_end(0, one)
            self._items, self._one = [one, factory], None  # type: ignore[list-item]
        else:
            position = 0
            self._one = factory  # type: ignore[assignment]
        ends = self._lone_end
        if ends is None:
            ends = self._lone_end = bytearray()
        if len(ends) <= position:
            ends.extend(bytes(position + 1 - len(ends)))
        ends[position] = 1
        self._lone += 1
        return True

    def _make_stages(self, ran: tuple[Plan, int] | None = None) -> list[int]:
        """Make the ``Stage`` of every lone factory, in its place; their positions.

        Args:
            ran: The plan of the last run and how many stages it ran (default:
                those of the last complete run); the stages made within it
                get their records of that run.
        """
        self._lone = 0  # first: the registry's own accessors come back here
        self._made += 1
        items = HasRegistry._listed_items(self)  # noqa: SLF001 - the base's, as is
        made: list[int] = []
        if not items:
            return made
        plan, upto = ran or self._ran or (None, 0)
        ends = self._lone_end or bytearray()
        ids = self._ids
        for position, entry in enumerate(items):
            if is_stage(entry):
                continue
            factory: Any = entry  # a lone factory, listed in a stage's place
            stage = Stage().add_factory(factory)
            stage.stage_id = position
            stage.end = bool(ends[position]) if position < len(ends) else True
            if plan is not None and position < upto:
                stage._use_plan(plan, position)  # noqa: SLF001 - same package
            if self._items is None:
                self._one = stage
            else:
                self._items[position] = stage
            if ids is not None:
                ids.add(id(stage))
            made.append(position)
        self._lone_end = None
        return made
