"""``Dispatcher``: fills a factory's deliveries from registered deliverables.

A pipeline resolves its deliveries with the pre-flight plan; the dispatcher
serves direct use (``Pipeline.execute_stage``, tests) with the same rules,
and keeps the deliverables of a run for ``Pipeline.get_deliverable``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pysetl.errors import DependencyResolutionError
from pysetl.utils._pretty import pretty
from pysetl.utils.mixins import HasLogger, HasRegistry
from pysetl.workflow._inject import choose
from pysetl.workflow.delivery_type import DeliveryType
from pysetl.workflow.external import External

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from typing_extensions import Self

    from pysetl.workflow.deliverable import Deliverable
    from pysetl.workflow.factory import Factory
    from pysetl.workflow.stage import Stage

__all__ = ["Dispatcher"]


class Dispatcher(HasRegistry["Deliverable[Any]"], HasLogger):
    """Registered deliverables, indexed by type and id."""

    def __init__(self) -> None:
        """Start empty."""
        super().__init__()
        self._index: dict[tuple[DeliveryType, str], list[Deliverable[Any]]] = {}

    def add_deliverable(self, deliverable: Deliverable[Any]) -> Self:
        """Register a deliverable.

        Raises:
            AlreadyRegisteredError: The same instance is already registered.
        """
        self.register(deliverable)
        key = (deliverable.payload_type, deliverable.delivery_id)
        self._index.setdefault(key, []).append(deliverable)
        return self

    def reset(self, deliverables: Iterable[Deliverable[Any]] = ()) -> Self:
        """Forget everything, then register ``deliverables``."""
        self.clear_registry()
        self._index.clear()
        for deliverable in deliverables:
            self.add_deliverable(deliverable)
        return self

    def collect_factory_deliverable(self, factory: Factory[Any]) -> Self:
        """Register ``factory.deliverable`` (calls its ``get()``)."""
        return self.add_deliverable(factory.deliverable)

    def collect_stage_deliverables(self, stage: Stage) -> Self:
        """Register the deliverables of the stage's last run."""
        for deliverable in stage.deliverable:
            self.add_deliverable(deliverable)
        return self

    def find_deliverable_by(
        self, predicate: Callable[[Deliverable[Any]], bool]
    ) -> list[Deliverable[Any]]:
        """The deliverables for which ``predicate`` is true."""
        return [d for d in self._registry.values() if predicate(d)]

    def find_deliverable_by_type(self, tp: Any) -> list[Deliverable[Any]]:
        """The deliverables whose payload type matches ``tp``."""
        wanted = DeliveryType(tp)
        return self.find_deliverable_by(lambda d: d.payload_type == wanted)

    def find_deliverable_by_name(self, name: str) -> list[Deliverable[Any]]:
        """The deliverables whose payload type's short name is ``name``."""
        return self.find_deliverable_by(lambda d: d.has_same_payload_type_name(name))

    def get_deliverable(
        self,
        candidates: list[Deliverable[Any]],
        consumer: type[Any],
        producer: type[Any],
    ) -> Deliverable[Any] | None:
        """The one candidate for ``consumer``, or ``None`` when there is none.

        Raises:
            DependencyResolutionError: Several candidates remain, or the only
                ones list other consumers.
        """
        if producer is not External:
            candidates = [c for c in candidates if c.producer is producer]
        remaining, allowed = choose(candidates, consumer, producer)
        if len(remaining) == 1:
            return remaining[0]  # type: ignore[no-any-return]
        found = [c.describe() for c in remaining or candidates]
        if len(remaining) > 1:
            msg = "Find multiple deliveries having the sametype, producer and consumer"
            hint = (
                f"{pretty(consumer)} matches {found}: give each a delivery_id, "
                "or declare Delivery(producer=...)"
            )
            raise DependencyResolutionError(msg, hint=hint, candidates=found)
        if candidates and not allowed:
            msg = f"Can't find {pretty(consumer)} in consumer list"
            hint = f"add {pretty(consumer)} to the consumers of {found}"
            raise DependencyResolutionError(msg, hint=hint, candidates=found)
        return None

    def dispatch(self, factory: Factory[Any]) -> Self:
        """Fill each delivery of ``factory`` from the registered deliverables.

        Raises:
            DependencyResolutionError: A delivery has no, or several, candidates.
        """
        cls = type(factory)
        for name, delivery in cls.declared_deliveries():
            key = (delivery.delivery_type(), delivery.delivery_id)
            candidates = self._index.get(key, [])
            chosen = self.get_deliverable(candidates, cls, delivery.producer)
            if chosen is None:
                msg = f"Cannot find type {delivery.payload_type}"
                raise DependencyResolutionError(
                    msg,
                    hint=(
                        f"{pretty(cls)}.{name} (delivery_id={delivery.delivery_id!r}, "
                        f"producer={pretty(delivery.producer)}) needs it: register "
                        "it with add_deliverable() before dispatching"
                    ),
                )
            getattr(factory, name).set(chosen.payload)
        return self
