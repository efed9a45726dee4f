"""Small capability mixins shared by configs, connectors, repositories and factories.

Capabilities of storage (``CanDrop``, ``CanPartition``...) are abstract: a
connector that mixes one in promises the operation, and repositories check
``isinstance(connector, CanDrop)`` before they call it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from uuid import UUID, SafeUUID

from typing_extensions import Self

from pysetl.errors import AlreadyRegisteredError
from pysetl.utils._pretty import pretty
from pysetl.utils.get_signature import get_signature as _signature

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, DataFrameReader, DataFrameWriter, SparkSession

    from pysetl.utils._benchmark import BenchmarkResult

__all__ = [
    "CanCreate",
    "CanDelete",
    "CanDrop",
    "CanPartition",
    "CanUpdate",
    "CanWait",
    "HasBenchmark",
    "HasDiagram",
    "HasLogger",
    "HasReader",
    "HasRegistry",
    "HasSparkSession",
    "HasWriter",
    "IsConfigurable",
    "IsIdentifiable",
    "IsWritable",
]


# The version (4) and variant (RFC 4122) bits of a random UUID, as ``uuid4`` sets them.
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (0x4000 << 64)
_UNKNOWN = SafeUUID.unknown
_new = object.__new__
_setattr = object.__setattr__
# Random bytes from ``os.urandom``, read 256 UUIDs at a time: one system call
# per UUID was a third of the cost of creating a factory. Emptied in a forked
# child, so that parent and child never hand out the same bytes.
_POOL_BYTES = 4096
_pool: list[Any] = [b"", 0]  # the bytes, the position of the next unused ones
_pool_lock = threading.Lock()


def _forget_pool() -> None:
    _pool[0], _pool[1] = b"", 0


if hasattr(os, "register_at_fork"):  # pragma: no branch - not on Windows
    os.register_at_fork(after_in_child=_forget_pool)


def _uuid4() -> UUID:
    """``uuid.uuid4()`` in a third of the time: every factory and stage gets one.

    The same 122 random bits from ``os.urandom`` (read ahead, see ``_pool``),
    and the same object: this is what ``UUID.__init__`` ends with, without
    its argument checks (``UUID`` is immutable, so it sets its two slots with
    ``object.__setattr__`` too).
    """
    with _pool_lock:
        data, start = _pool
        if start >= len(data):
            data = _pool[0] = os.urandom(_POOL_BYTES)
            start = 0
        _pool[1] = start + 16
    value = int.from_bytes(data[start : start + 16], "big")
    uuid = _new(UUID)
    _setattr(uuid, "int", (value & _UUID4_CLEAR) | _UUID4_SET)
    _setattr(uuid, "is_safe", _UNKNOWN)
    return uuid


_uuid_lock = threading.Lock()


class _LazyUUID:
    """``IsIdentifiable.uuid``: made on first read, kept in ``_uuid``.

    Most factories and stages of a run are never asked for their UUID: making
    it on first read spares them two objects each (the UUID and its int),
    which the garbage collector would scan for as long as they live. The
    value is made once, under a lock (two threads reading a new instance's
    UUID at once see the same one); assigning ``obj.uuid`` replaces it.
    """

    def __get__(self, instance: Any, owner: type[Any]) -> Any:
        if instance is None:
            return self
        uuid = instance._uuid  # noqa: SLF001 - the descriptor's own storage
        if uuid is None:
            with _uuid_lock:
                uuid = instance._uuid  # noqa: SLF001
                if uuid is None:
                    uuid = _uuid4()
                    _setattr(instance, "_uuid", uuid)
        return uuid

    def __set__(self, instance: Any, value: UUID) -> None:
        _setattr(instance, "_uuid", value)


class IsIdentifiable:
    """Gives each instance a random ``uuid`` and each class a ``name()``.

    Changed in 0.2: the UUID is made when it is first read, not in
    ``__init__`` (a subclass whose ``__init__`` skips ``super().__init__()``
    has one too), and the mixin has no ``__init__``: creating a factory
    runs no Python code of pysetl's (with thousands of factory classes,
    each call through the class hierarchy missed CPython's type-attribute
    cache). A class with many instances sets ``_uuid`` in its own
    ``__init__`` (see ``Stage.__init__``).
    """

    if TYPE_CHECKING:
        uuid: UUID
    else:
        uuid = _LazyUUID()
    _uuid: UUID | None = None  # the instance's UUID, once read or assigned

    @classmethod
    def name(cls) -> str:
        """The class's short name (see ``pretty``)."""
        return pretty(cls)


_I = TypeVar("_I", bound=IsIdentifiable)
_MISSING: Any = object()
_SMALL = 8  # up to this many items, duplicates are found by a scan


def _made_uuid(item: Any) -> UUID | None:
    """The item's UUID if it exists already (without making a lazy one)."""
    uuid = getattr(item, "_uuid", _MISSING)
    return item.uuid if uuid is _MISSING else uuid  # type: ignore[no-any-return]


class HasRegistry(Generic[_I]):
    """An insertion-ordered registry of identifiable items, keyed by UUID.

    The items are kept in a list until the dict keyed by UUID is asked for
    (``get_registry``, ``get_item``, ``clear_registry``), or an item that
    has its UUID already is registered: from then on that dict is the
    registry. Until then no item's UUID is made (see ``IsIdentifiable``), and
    an item without one is registered already only if it is the same instance.
    """

    _by_uuid: dict[UUID, _I] | None = None  # the registry, once asked for
    _ids: set[int] | None = None  # ids of the listed items, past _SMALL of them
    _one: _I | None = None  # the only item, while there is one
    _items: list[_I] | None = None  # the items, once there are two

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Start with an empty registry."""
        super().__init__(*args, **kwargs)
        # All set now, though they are the class defaults: a name an
        # instance first sets late may give every instance a dict (see
        # ``Stage.__init__``). No list for one item (a stage of one
        # factory): one object less for the collector.
        self._one = self._items = None
        self._by_uuid = None
        self._ids = None

    def _listed_items(self) -> list[_I] | None:
        """The items while they are listed (to read only), ``None`` once in a dict."""
        if self._by_uuid is not None:
            return None
        items = self._items
        if items is not None:
            return items
        one = self._one
        return [] if one is None else [one]

    @property
    def _registry(self) -> dict[UUID, _I]:
        """The dict keyed by UUID, made (once) from the list if need be."""
        registry = self._by_uuid
        if registry is None:
            items = self._listed_items() or []
            registry = self._by_uuid = {item.uuid: item for item in items}
            self._one = self._items = self._ids = None
        return registry

    def _listed(self, item: _I, items: list[_I]) -> bool:
        """Whether the very instance ``item`` is in the list."""
        ids = self._ids
        if ids is not None:
            return id(item) in ids
        return any(x is item for x in items)

    def _already(self, item: _I) -> AlreadyRegisteredError:
        uuid = item.uuid
        msg = f"The item {uuid} of type {item.name()} already exists"
        return AlreadyRegisteredError(
            msg, hint="Register each instance once; create a new instance instead."
        )

    def register(self, item: _I) -> Self:
        """Add ``item``.

        Raises:
            AlreadyRegisteredError: The item is already registered.
        """
        if self._one is None and self._items is None and self._by_uuid is None:
            # The first item (a stage of one factory) cannot be there already,
            # UUID or not; its UUID is looked at if a second item has one.
            self._one = item
            return self
        # No UUID yet (``_made_uuid`` is None): the same UUID can only be the
        # same instance.
        if self._by_uuid is None and getattr(item, "_uuid", _MISSING) is None:
            items = self._items
            if items is None:
                one = self._one
                if one is item:
                    raise self._already(item)
                # ``one`` is set: the first item returned above.
                self._items, self._one = [one, item], None  # type: ignore[list-item]
                return self
            if self._listed(item, items):
                raise self._already(item)
            items.append(item)
            ids = self._ids
            if ids is not None:
                ids.add(id(item))
            elif len(items) > _SMALL:
                self._ids = {id(x) for x in items}
            return self
        registry = self._registry
        uuid = item.uuid
        if uuid in registry:
            raise self._already(item)
        registry[uuid] = item
        return self

    def register_items(self, items: list[_I]) -> Self:
        """Add each item in order."""
        for item in items:
            self.register(item)
        return self

    def is_registered(self, item: _I) -> bool:
        """Whether ``item`` is registered."""
        items = self._listed_items()
        if items is None or _made_uuid(item) is not None:
            return item.uuid in self._registry
        return bool(items) and self._listed(item, items)

    def registered(self) -> list[_I]:
        """The items, in the order they were registered (a new list)."""
        items = self._listed_items()
        return list(items if items is not None else self._registry.values())

    def get_registry(self) -> dict[UUID, _I]:
        """The live registry dict."""
        return self._registry

    def get_item(self, uuid: UUID) -> _I | None:
        """The item with ``uuid``, or ``None``."""
        return self._registry.get(uuid)

    def clear_registry(self) -> Self:
        """Remove every item."""
        self._registry.clear()
        return self

    @property
    def last_registered_item(self) -> _I | None:
        """The most recently registered item, or ``None``."""
        items = self._listed_items()
        if items is not None:
            return items[-1] if items else None
        return next(reversed(self._registry.values()), None)

    @property
    def size(self) -> int:
        """How many items are registered."""
        items = self._listed_items()
        return len(items) if items is not None else len(self._registry)


class HasLogger:
    """Logging helpers bound to a logger named after the class's module.

    Changed in 0.2: logs through ``logging.getLogger(<module>)`` instead of the
    root logger, so levels can be set per module; records still reach root
    handlers through propagation. ``log()`` logs at INFO (it did nothing).
    """

    @property
    def logger(self) -> logging.Logger:
        """The logger of this object's module."""
        return logging.getLogger(type(self).__module__)

    def log(self, message: str) -> None:
        """Log ``message`` at INFO."""
        self.logger.info(message)

    def log_info(self, message: str) -> None:
        """Log ``message`` at INFO."""
        self.logger.info(message)

    def log_debug(self, message: str) -> None:
        """Log ``message`` at DEBUG."""
        self.logger.debug(message)

    def log_warning(self, message: str) -> None:
        """Log ``message`` at WARNING."""
        self.logger.warning(message)

    def log_error(self, message: str) -> None:
        """Log ``message`` at ERROR."""
        self.logger.error(message)


class HasSparkSession:
    """Access to the active SparkSession, created on first use if none is active."""

    @property
    def spark(self) -> SparkSession:
        """The active SparkSession (``getOrCreate`` when none is active).

        Changed in 0.6: an active Spark Connect session counts, in any thread
        (pyspark's classic ``getActiveSession`` does not see it in a thread
        of a parallel stage).
        """
        from pyspark.sql import SparkSession  # noqa: PLC0415 - no JVM at import time

        active = SparkSession.getActiveSession()
        connect = sys.modules.get("pyspark.sql.connect.session")
        if active is None and connect is not None:
            # the thread's active Connect session, else the process's default
            with contextlib.suppress(Exception):  # none: NO_ACTIVE_OR_DEFAULT_SESSION
                active = connect.SparkSession.active()
        return active if active is not None else SparkSession.builder.getOrCreate()


class HasDiagram(ABC):
    """Something that renders itself in a Mermaid class diagram."""

    @property
    @abstractmethod
    def diagram_id(self) -> str:
        """The identifier of this object in the diagram."""

    @abstractmethod
    def to_diagram(self) -> str:
        """The Mermaid text of this object."""

    def get_signature(self) -> list[str]:
        """The parameter names of this class's ``__init__``."""
        return [p for p in _signature(type(self).__init__) if p != "self"]

    @staticmethod
    def format_diagram_id(name: str, diagram_id: str, suffix: str) -> str:
        """Join the bracket-free ``name``, capitalised ``diagram_id`` and ``suffix``."""
        bare = name.replace("[", "").replace("]", "").replace(", ", "")
        return f"{bare}{diagram_id.capitalize()}{suffix}"


class HasBenchmark(ABC):
    """Something that can report benchmark results."""

    benchmarked = True

    @abstractmethod
    def get_benchmarks(self) -> list[BenchmarkResult]:
        """The benchmark results collected so far."""

    def benchmark(self) -> None:  # noqa: B027 - optional override, empty on purpose
        """An optional override for subclasses; does nothing by default."""


class IsWritable:
    """An on/off switch for writing (``Factory.writable(False)``)."""

    _write = True

    @property
    def is_writable(self) -> bool:
        """Whether ``write`` runs."""
        return self._write

    def writable(self, write: bool) -> Self:
        """Turn writing on or off."""
        self._write = write
        return self


class IsConfigurable(ABC):
    """A key-value store of settings."""

    @abstractmethod
    def get(self, key: str) -> Any:
        """The value of ``key``."""

    @abstractmethod
    def set(self, key: str, value: Any) -> Self:
        """Set ``key`` to ``value``."""


class HasReader(ABC):
    """Storage that exposes a configured Spark reader."""

    @property
    @abstractmethod
    def _reader(self) -> DataFrameReader:
        """The configured ``DataFrameReader``."""


class HasWriter(ABC):
    """Storage that exposes a configured Spark writer."""

    @abstractmethod
    def _writer(self, data: DataFrame) -> DataFrameWriter:
        """The configured ``DataFrameWriter`` for ``data``."""


class CanDrop(ABC):
    """Storage whose whole dataset can be dropped."""

    @abstractmethod
    def drop(self) -> None:
        """Delete the whole dataset."""


class CanPartition(ABC):
    """Storage laid out in partitions that can be listed and read selectively."""

    @abstractmethod
    def list_partitions(self) -> list[str]:
        """The partition paths directly under the dataset."""

    @abstractmethod
    def read_partitions(self, partitions: list[str]) -> DataFrame:
        """Read only ``partitions``."""


class CanCreate(ABC):
    """Storage where a dataset can be created from a DataFrame."""

    @abstractmethod
    def create(self, data: DataFrame) -> None:
        """Create the dataset from ``data``."""


class CanDelete(ABC):
    """Storage where rows can be deleted by a query."""

    @abstractmethod
    def delete(self, query: str) -> None:
        """Delete the rows matching ``query``."""


class CanUpdate(ABC):
    """Storage where rows can be updated by a query."""

    @abstractmethod
    def update(self, query: str) -> None:
        """Run the update ``query``."""


class CanWait(ABC):
    """A streaming source or sink that runs until stopped."""

    @abstractmethod
    def await_termination(self, timeout: float | None = None) -> None:
        """Block until the stream stops or ``timeout`` seconds pass."""

    @abstractmethod
    def stop(self) -> None:
        """Stop the stream."""

    def wait(self, timeout: int = 60) -> None:  # noqa: B027 - optional override
        """An optional override for subclasses; does nothing by default."""
