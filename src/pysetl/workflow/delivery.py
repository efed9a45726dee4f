"""``Delivery[T]``: an input slot that a factory declares as a class attribute.

A declaration such as ``orders = Delivery[DataSet[Order]](producer=Reader)`` on
a ``Factory`` subclass states what the factory needs. The declaration itself is
never filled: each factory *instance* gets its own slot the first time the
attribute is read through the instance (``self.orders``), so two instances of
one class never share a value, and a value never leaks from one run into the
next (changed in 0.2: the slots used to be shared class state).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pysetl.errors import DependencyResolutionError
from pysetl.utils._pretty import pretty
from pysetl.workflow.delivery_type import DeliveryType, shared_delivery_type
from pysetl.workflow.external import External

if TYPE_CHECKING:
    from typing_extensions import Self

    from pysetl.workflow.factory import Factory

__all__ = ["Delivery"]

T = TypeVar("T")

_UNSET: Any = object()
_new = object.__new__
_setattr = object.__setattr__


class Delivery(Generic[T]):
    """An input of type ``T`` that a factory declares; filled before it runs.

    It must be subscripted (``Delivery[int]()``) so that its type is known.

    Args:
        producer: The factory class that must produce the value, or
            ``External`` (the default) to accept any producer.
        delivery_id: The id the produced value must carry.
        consumer: The factory class that consumes it (set automatically).

    Examples:
        >>> class Doubler(Factory[int]):
        ...     number = Delivery[int](delivery_id="n")
        ...     def read(self): self.n = self.number.get(); return self
        ...     def process(self): self.n *= 2; return self
        ...     def write(self): return self
        ...     def get(self): return self.n
    """

    # Slots: a run makes one slot per delivery of every factory, so each is
    # one small object (no instance dict for the garbage collector to scan).
    # ``__orig_class__`` is where ``Delivery[T](...)`` records ``T``.
    __slots__ = (
        "__orig_class__",
        "__weakref__",
        "_name",
        "_payload_type",
        "_value",
        "consumer",
        "delivery_id",
        "producer",
    )

    def __init__(
        self,
        producer: type[Any] = External,
        delivery_id: str = "",
        consumer: type[Factory[Any]] | None = None,
    ) -> None:
        """Declare the producer, the id and (optionally) the consumer."""
        self.producer = producer
        self.delivery_id = delivery_id
        self.consumer = consumer
        self._value: Any = _UNSET
        self._name: str | None = None
        self._payload_type: DeliveryType | None = None

    # ------------------------------------------------------------ descriptor
    def __set_name__(self, owner: type[Any], name: str) -> None:
        """Remember the attribute name and the declaring class."""
        self._name = name
        if self.consumer is None:
            self.consumer = owner

    def __get__(self, instance: object | None, owner: type[Any]) -> Self:
        """The declaration through the class; the instance's own slot otherwise."""
        name = self._name
        if instance is None or name is None:
            return self
        slot = self.bind(type(instance))
        # Stored as the instance's own attribute, which shadows this (non-data)
        # descriptor from now on; like a write to ``__dict__``, it bypasses a
        # custom or frozen ``__setattr__``.
        _setattr(instance, name, slot)
        return slot

    def bind(self, consumer: type[Any]) -> Self:
        """A fresh slot for one consumer, copied from this declaration.

        A value set on the declaration (``MyFactory.slot.set(v)``) is carried
        over as a default; setting the slot never changes the declaration.
        """
        slot = _new(type(self))
        slot.producer = self.producer
        slot.delivery_id = self.delivery_id
        slot.consumer = consumer
        slot._value = self._value  # noqa: SLF001 - same class
        slot._name = self._name  # noqa: SLF001
        slot._payload_type = self._payload_type  # noqa: SLF001
        orig = getattr(self, "__orig_class__", None)
        if orig is not None:
            slot.__orig_class__ = orig  # type: ignore[attr-defined]
        extra = getattr(self, "__dict__", None)  # a subclass without __slots__
        if extra:
            slot.__dict__.update(extra)
        return slot

    # ------------------------------------------------------------------ type
    @property
    def payload_type(self) -> Any:
        """``T``, read from the subscripted class.

        Raises:
            AttributeError: The delivery was not subscripted.
        """
        return self.delivery_type().tp

    def delivery_type(self) -> DeliveryType:
        """``T`` wrapped as a ``DeliveryType``."""
        cached = self._payload_type
        if cached is None:
            orig = getattr(self, "__orig_class__", None)
            if orig is None:
                msg = (
                    f"{type(self).__name__!r} object has no attribute "
                    "'__orig_class__': write Delivery[T](...), not Delivery(...)"
                )
                raise AttributeError(msg)
            cached = self._payload_type = shared_delivery_type(orig.__args__[0])
        return cached

    # ----------------------------------------------------------------- value
    def set(self, value: T) -> Self:
        """Fill the slot with ``value`` (any value, including ``0`` or ``""``)."""
        self._value = value
        return self

    def get(self) -> T:
        """The value.

        Changed in 0.2: falsy values (``0``, ``""``, an empty DataFrame) are
        valid; only a slot that was never filled raises.

        Raises:
            DependencyResolutionError: The slot has not been filled.
        """
        value = self._value
        if value is _UNSET:
            msg = "Delivery with no value"
            raise DependencyResolutionError(
                msg,
                hint=(
                    f"{self!r} was never filled: run the factory inside a Pipeline, "
                    "which fills its deliveries, or call .set(value) first"
                ),
            )
        return value  # type: ignore[no-any-return]

    @property
    def is_set(self) -> bool:
        """Whether the slot holds a value."""
        return self._value is not _UNSET

    def clear(self) -> Self:
        """Empty the slot."""
        self._value = _UNSET
        return self

    def set_consumer(self, consumer: type[Factory[Any]]) -> Self:
        """Set the consuming factory class."""
        self.consumer = consumer
        return self

    @property
    def name(self) -> str | None:
        """The attribute name under which the delivery is declared."""
        return self._name

    def __repr__(self) -> str:
        """``Delivery from <producer> with type <T>``."""
        try:
            tp = pretty(self.payload_type)
        except AttributeError:
            tp = "?"
        return f"Delivery from {pretty(self.producer)} with type {tp}"

    __str__ = __repr__
