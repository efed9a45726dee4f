"""``Deliverable[T]``: a value offered to a pipeline, with who made it and for whom."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from uuid import uuid4

from pysetl.utils._pretty import pretty
from pysetl.utils.mixins import IsIdentifiable
from pysetl.workflow.delivery_type import DeliveryType
from pysetl.workflow.external import External

if TYPE_CHECKING:
    from uuid import UUID

    from typing_extensions import Self

__all__ = ["Deliverable"]

T = TypeVar("T")


@dataclass(eq=True)
class Deliverable(IsIdentifiable, Generic[T]):
    """A payload of type ``T``, its producer, its allowed consumers and its id.

    Subscript it (``Deliverable[int](42)``) so that its type is known; an
    unsubscripted deliverable falls back to ``type(payload)``.

    Args:
        payload: The value.
        producer: The factory class that produced it, or ``External``.
        consumers: The factory classes allowed to consume it; empty means any.
        delivery_id: The id a ``Delivery`` must name to receive it.

    Examples:
        >>> pipeline.set_input_from_deliverable(Deliverable[int](42, delivery_id="n"))
    """

    payload: T
    producer: type[Any] = External
    consumers: set[type[Any]] = field(default_factory=set)
    delivery_id: str = ""

    def __post_init__(self) -> None:
        """Give the deliverable its own uuid."""
        self.uuid: UUID = uuid4()
        self._payload_type: DeliveryType | None = None

    @property
    def payload_type(self) -> DeliveryType:
        """``T`` as a ``DeliveryType``."""
        cached = self._payload_type
        if cached is None:
            orig = self.__dict__.get("__orig_class__")
            tp = orig.__args__[0] if orig is not None else type(self.payload)
            cached = self._payload_type = DeliveryType(tp)
        return cached

    def with_payload_type(self, tp: Any) -> Self:
        """Set ``T`` explicitly (used when the framework builds deliverables)."""
        self._payload_type = DeliveryType(tp)
        return self

    def set_producer(self, producer: type[Any]) -> Self:
        """Set the producer."""
        self.producer = producer
        return self

    def set_consumers(self, consumers: set[type[Any]]) -> Self:
        """Set the allowed consumers."""
        self.consumers = consumers
        return self

    def set_delivery_id(self, delivery_id: str) -> Self:
        """Set the delivery id."""
        self.delivery_id = delivery_id
        return self

    def has_same_payload_type(self, other: Deliverable[Any]) -> bool:
        """Whether ``other`` carries the same payload type."""
        return self.payload_type == other.payload_type

    def is_payload_type(self, tp: Any) -> bool:
        """Whether the payload type matches ``tp``."""
        return bool(self.payload_type == tp)

    def has_same_payload_type_name(self, name: str) -> bool:
        """Whether the payload type's short name is ``name``."""
        return pretty(self.payload_type.tp) == name

    def same_deliverable(self, other: Deliverable[Any]) -> bool:
        """Whether ``other`` offers the same thing to the same consumers.

        Changed in 0.2: two deliverables with empty consumer sets (that is,
        for anyone) are the same when type and producer match.
        """
        if not self.has_same_payload_type(other) or self.producer is not other.producer:
            return False
        if not self.consumers and not other.consumers:
            return True
        return bool(self.consumers & other.consumers)

    def describe(self) -> str:
        """One line naming the type, id and producer, for error messages."""
        return (
            f"Deliverable[{pretty(self.payload_type.tp)}]"
            f"(delivery_id={self.delivery_id!r}, producer={pretty(self.producer)})"
        )

    def __repr__(self) -> str:
        """``Deliverable[<T>]``."""
        return f"Deliverable[{pretty(self.payload_type.tp)}]"

    def __str__(self) -> str:
        """Three lines: the type, the producer and the consumers."""
        consumers = ", ".join(sorted(pretty(c) for c in self.consumers))
        return (
            f"Deliverable: {pretty(self.payload_type.tp)}\n"
            f"  From: {pretty(self.producer)}\n"
            f"  To: {consumers}"
        )
