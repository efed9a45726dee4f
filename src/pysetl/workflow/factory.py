"""``Factory[T]``: the unit of ETL work (read, process, write, get).

How to write a factory: subclass ``Factory[T]`` with the type of what it
produces, declare its inputs as ``Delivery`` class attributes, and implement
the four methods. The pipeline fills the deliveries, then calls ``read``,
``process``, ``write`` (unless writing is off) and ``get``:

```python
class CountOrders(Factory[int]):
    orders = Delivery[list[str]](producer=LoadOrders)

    def read(self) -> Self:
        self.rows = self.orders.get()
        return self

    def process(self) -> Self:
        self.count = len(self.rows)
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return self.count
```

What ``get()`` returns is checked against ``T`` after each run (see
``pysetl.workflow._output``): ``None``, or a value of another type, fails the
factory with a ``FactoryOutputError``. Allow ``None`` with
``Factory[T | None]``; skip the check for one class with
``class F(Factory[T], check_output=False)``; for types only known at run
time, override ``output_classes``.

A factory class can declare how its attempts are retried and how long one
may take (see ``pysetl.workflow.retry``):

```python
class Load(Factory[DataFrame], retry=RetryPolicy(max_attempts=3), timeout=600):
    ...
```
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

from typing_extensions import Self, get_original_bases

from pysetl.errors import ConfigError
from pysetl.utils._pretty import pretty
from pysetl.utils.mixins import HasLogger, IsIdentifiable, IsWritable
from pysetl.workflow import _output
from pysetl.workflow.deliverable import Deliverable
from pysetl.workflow.delivery import Delivery
from pysetl.workflow.delivery_type import DeliveryType, shared_delivery_type
from pysetl.workflow.retry import RetryPolicy

__all__ = [
    "FIRST_DELIVERY",
    "Factory",
    "FactoryInfo",
    "class_record",
    "factory_info",
]

T = TypeVar("T")

_TYPE_CACHE = "_pysetl_delivery_type"
_NAME_CACHE = "_pysetl_name"
_RECORD_CACHE = "_pysetl_record"
_IS_WRITABLE = IsWritable.__dict__["is_writable"]
FIRST_DELIVERY = 4
"""Where the deliveries start in a ``class_record``."""


class Factory(IsIdentifiable, HasLogger, IsWritable, ABC, Generic[T]):
    """Reads inputs, transforms them and produces one output of type ``T``.

    Attributes:
        consumers: The factory classes allowed to consume the output; empty
            (the default) means any.
        delivery_id: The id of the output.
        check_output: Whether the engine checks what ``get()`` returns
            against ``T`` (default ``True``). Set it as a class attribute or
            with the class keyword: ``class F(Factory[T], check_output=False)``.
            It is read once per class, when the class first runs.
        retry_policy: How failed attempts are retried (``None``: they are
            not); set it with the class keyword ``retry=RetryPolicy(...)``.
        timeout_seconds: How long one attempt may take (``None``: no limit);
            set it with the class keyword ``timeout=600``.
        policy_declared: Whether any factory class of the process declared
            a retry policy or a timeout (the engine looks for them only then).

    Changed in 0.2: the output check (``check_output``, ``output_classes``).
    Changed in 0.6: the ``retry`` and ``timeout`` class keywords.
    """

    consumers: ClassVar[set[type[Factory[Any]]]] = set()
    delivery_id: ClassVar[str] = ""
    check_output: ClassVar[bool] = True
    retry_policy: ClassVar[RetryPolicy | None] = None
    timeout_seconds: ClassVar[float | None] = None
    policy_declared: ClassVar[bool] = False

    def __init_subclass__(
        cls,
        *,
        check_output: bool | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        """Take the class keywords (``None``: inherit the base's setting).

        Raises:
            ConfigError: ``retry`` is not a ``RetryPolicy``, or ``timeout``
                is not a positive number of seconds.
        """
        super().__init_subclass__(**kwargs)
        if check_output is not None:
            cls.check_output = check_output
        given: object = retry  # checked: a class keyword is easy to get wrong
        if given is not None:
            if not isinstance(given, RetryPolicy):
                msg = f"{cls.__name__}: retry={retry!r} is not a RetryPolicy"
                raise ConfigError(msg, hint="pass retry=RetryPolicy(max_attempts=3)")
            cls.retry_policy = given
        if timeout is not None:
            if (
                isinstance(timeout, bool)
                or not isinstance(timeout, (int, float))
                or timeout <= 0
            ):
                msg = f"{cls.__name__}: timeout={timeout!r} is not a number of seconds"
                raise ConfigError(msg, hint="pass timeout=600 (seconds, more than 0)")
            cls.timeout_seconds = float(timeout)
        if cls.retry_policy is not None or cls.timeout_seconds is not None:
            Factory.policy_declared = True

    def __post_init__(self) -> None:
        """Nothing to do: kept for dataclass subclasses that call it.

        Changed in 0.2: the uuid is made on first read (see ``IsIdentifiable``),
        so dataclass subclasses, whose ``__init__`` skips ours, have one too.
        """

    @abstractmethod
    def read(self) -> Self:
        """Read the inputs (deliveries, repositories)."""

    @abstractmethod
    def process(self) -> Self:
        """Transform what was read."""

    @abstractmethod
    def write(self) -> Self:
        """Persist the result (skipped when writing is off)."""

    @abstractmethod
    def get(self) -> T | None:
        """The output, offered to later stages."""

    # ---------------------------------------------------------------- typing
    @classmethod
    def delivery_type(cls) -> DeliveryType:
        """The output type ``T`` as a ``DeliveryType``.

        Raises:
            NotImplementedError: No base of the class gives ``T``.
        """
        cached = cls.__dict__.get(_TYPE_CACHE)
        if cached is None:
            cached = shared_delivery_type(_output_type(cls))
            setattr(cls, _TYPE_CACHE, cached)
        return cached

    @classmethod
    def output_classes(cls) -> tuple[type, ...] | None:
        """The classes ``get()``'s output must be an instance of; ``None``: any.

        Made from ``T`` (see ``pysetl.workflow._output``); ``None`` when
        ``check_output`` is off or ``T`` cannot be checked. Override it for a
        type known only at run time; the engine asks once per class.

        Examples:
            >>> class Rows(Factory[Any]):
            ...     @classmethod
            ...     def output_classes(cls):
            ...         return (list, tuple)

        Raises:
            NotImplementedError: No base of the class gives ``T``.

        Added in 0.2.
        """
        if not cls.check_output:
            return None
        return _output.output_classes(cls.delivery_type().tp)

    @classmethod
    def name(cls) -> str:
        """The class's short name (see ``pretty``), computed once per class."""
        cached = cls.__dict__.get(_NAME_CACHE)
        if cached is None:
            cached = pretty(cls)
            setattr(cls, _NAME_CACHE, cached)
        return cached

    @classmethod
    def expected_deliveries(cls) -> list[Delivery[Any]]:
        """The declared inputs, inherited ones included, ordered by attribute name.

        Each returned delivery is this class's own copy, with ``consumer`` set
        to this class; the declarations themselves are not changed.
        """
        return [delivery for _, delivery in cls.declared_deliveries()]

    @classmethod
    def declared_deliveries(cls) -> list[tuple[str, Delivery[Any]]]:
        """``(attribute name, delivery)`` pairs, ordered by attribute name.

        Changed in 0.2: a new list on each call (the deliveries are cached).
        """
        try:
            record = class_record(cls)
        except NotImplementedError:  # no output type: nothing to cache
            return _declared(cls)
        return [
            (record[i], record[i + 1]) for i in range(FIRST_DELIVERY, len(record), 3)
        ]

    # ---------------------------------------------------------------- output
    @property
    def deliverable(self) -> Deliverable[T | None]:
        """The output wrapped as a ``Deliverable`` (calls ``get()``)."""
        return self.make_deliverable(self.get())

    def make_deliverable(self, payload: Any) -> Deliverable[Any]:
        """Wrap ``payload`` as this factory's ``Deliverable``."""
        cls = type(self)
        return Deliverable(
            payload=payload,
            producer=cls,
            consumers=self.consumers,
            delivery_id=self.delivery_id,
        ).with_payload_type(cls.delivery_type())

    def __str__(self) -> str:
        """``<ClassName> -> <T>``."""
        return f"{type(self).__name__} -> {pretty(self.delivery_type().tp)}"

    def __repr__(self) -> str:
        """``<ClassName> will produce a <T>``."""
        return f"{type(self).__name__} will produce a {pretty(self.delivery_type().tp)}"


def _output_type(cls: type) -> Any:
    """Find ``T`` in the original bases of ``cls``, walking up concrete parents."""
    for base in get_original_bases(cls):
        origin = getattr(base, "__origin__", None)
        if isinstance(origin, type) and issubclass(origin, Factory):
            args = getattr(base, "__args__", ())
            if args and not isinstance(args[0], TypeVar):
                return args[0]
            continue
        if isinstance(base, type) and issubclass(base, Factory) and base is not Factory:
            try:
                return base.delivery_type().tp
            except NotImplementedError:
                continue
    msg = f"{cls.__name__} factory does not have a type parameter"
    raise NotImplementedError(msg)


class FactoryInfo(NamedTuple):
    """What the engine needs to know about a factory class, looked up once."""

    delivery_type: DeliveryType
    name: str
    deliveries: list[tuple[str, Delivery[Any]]]


def factory_info(cls: type[Factory[Any]]) -> FactoryInfo:
    """The ``FactoryInfo`` of ``cls`` (made from its ``class_record``).

    Raises:
        NotImplementedError: No base of the class gives its output type.
    """
    record = class_record(cls)
    return FactoryInfo(record[0], record[1], cls.declared_deliveries())


def _declared(cls: type[Factory[Any]]) -> list[tuple[str, Delivery[Any]]]:
    """``(attribute name, this class's copy of the delivery)``, by name."""
    found: dict[str, Delivery[Any]] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if isinstance(value, Delivery):
                found[attr] = value
            else:
                found.pop(attr, None)
    return [(attr, found[attr].bind(cls)) for attr in sorted(found)]


def class_record(cls: type[Factory[Any]]) -> tuple[Any, ...]:
    """What the engine needs of a factory class, in one tuple cached on the class.

    ``(output delivery type, name, plain writable, output classes, attribute,
    delivery, type key, attribute, delivery, type key...)``: the output type,
    the short name, whether ``is_writable`` is ``IsWritable``'s own, the
    classes ``get()``'s output must be an instance of (``output_classes``,
    ``None`` for no check), then each
    declared delivery (this class's own copy, ``consumer`` set to the class)
    with the key its type is indexed by (``None`` if the delivery was not
    subscripted), ordered by attribute name. One
    dictionary lookup per class and run, where class-method calls would each
    walk the class hierarchy (CPython's type-attribute cache holds 4,096
    names: with thousands of factory classes most lookups miss it); and one
    object per class (and its deliveries) for the garbage collector to scan.

    Raises:
        NotImplementedError: No base of the class gives its output type.
    """
    record = cls.__dict__.get(_RECORD_CACHE)
    if record is None:
        # Whether ``is_writable`` is IsWritable's, which reads ``_write``: the
        # engine then reads ``_write`` itself (one walk of the class
        # hierarchy instead of two, and no call).
        plain = getattr(cls, "is_writable", None) is _IS_WRITABLE
        flat: list[Any] = [cls.delivery_type(), cls.name(), plain]
        flat.append(cls.output_classes())
        for attr, delivery in _declared(cls):
            try:
                key = delivery.delivery_type().key
            except AttributeError:  # not subscripted: resolving it says so
                key = None
            flat += (attr, delivery, key)
        record = tuple(flat)
        setattr(cls, _RECORD_CACHE, record)
    return record
