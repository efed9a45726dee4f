"""``MemoryConnector`` and ``MemoryRepository``: storage doubles held in memory.

A factory under test that reads and writes through a ``SparkRepository[T]``
gets a ``MemoryRepository[T]`` instead: it is one (a subclass), serves the
DataFrame it was given and keeps what the factory saved, so a test can
assert on it without touching any file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from typedspark import Schema

from pysetl.errors import ConnectorError
from pysetl.storage.connector import BaseConnector
from pysetl.storage.repository import SparkRepository
from pysetl.utils.mixins import CanDrop

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["MemoryConnector", "MemoryRepository"]

T = TypeVar("T", bound=Schema)

_MODES = ("overwrite", "append")


class MemoryConnector(BaseConnector, CanDrop):
    """Holds one DataFrame: ``read()`` returns it, ``write()`` replaces it.

    Args:
        data: What ``read()`` returns until something is written.
        mode: ``"overwrite"`` (the default) replaces the data on each write;
            ``"append"`` adds the written rows (matched by column name).

    Attributes:
        writes: Every DataFrame written, in order.

    Examples:
        >>> connector = MemoryConnector(spark.range(3))
        >>> connector.write(spark.range(5))
        >>> connector.read().count()
        5

    Added in 0.5.
    """

    def __init__(
        self, data: DataFrame | None = None, *, mode: str = "overwrite"
    ) -> None:
        """Hold ``data``.

        Raises:
            ValueError: ``mode`` is neither ``"overwrite"`` nor ``"append"``.
        """
        if mode not in _MODES:
            msg = f"MemoryConnector mode must be one of {_MODES}, not {mode!r}"
            raise ValueError(msg)
        self.data = data
        self.mode = mode
        self.writes: list[DataFrame] = []

    @property
    def target(self) -> str:
        """What the connector points at, for messages: memory."""
        return "memory"

    def read(self) -> DataFrame:
        """The data held.

        Raises:
            ConnectorError: Nothing was given or written yet (or it was dropped).
        """
        if self.data is None:
            msg = "MemoryConnector holds no data"
            raise ConnectorError(
                msg,
                hint="pass a DataFrame to MemoryConnector(data) or write() one first",
                connector=repr(self),
            )
        return self.data

    def write(self, data: DataFrame) -> None:
        """Keep ``data`` (replace, or append to what is held)."""
        self.writes.append(data)
        if self.mode == "append" and self.data is not None:
            self.data = self.data.unionByName(data)
        else:
            self.data = data

    def drop(self) -> None:
        """Forget the data held (``read()`` then raises)."""
        self.data = None

    def __repr__(self) -> str:
        """``MemoryConnector(mode='overwrite', writes=1)``."""
        return f"MemoryConnector(mode={self.mode!r}, writes={len(self.writes)})"


class MemoryRepository(SparkRepository[T]):
    """A ``SparkRepository[T]`` over a ``MemoryConnector``.

    Subscript it with the schema, as a ``SparkRepository``. Deliver it where a
    factory declares ``Delivery[SparkRepository[T]]`` (``run_factory`` does).

    Args:
        data: What ``load()`` returns until the factory saves something.
        mode: The connector's write mode (``"overwrite"`` or ``"append"``).
        cache: Cache loads, as ``SparkRepository`` does.

    Examples:
        >>> repo = MemoryRepository[Orders](orders_df)
        >>> output = run_factory(SaveTotals, inputs={"orders": repo})
        >>> assert_frame_equal(repo.data, expected)

    Added in 0.5.
    """

    def __init__(
        self,
        data: DataFrame | None = None,
        *,
        mode: str = "overwrite",
        cache: bool = False,
    ) -> None:
        """Hold ``data`` in a new ``MemoryConnector``."""
        super().__init__(MemoryConnector(data, mode=mode), cache=cache)

    @property
    def memory(self) -> MemoryConnector:
        """The connector."""
        connector: Any = self.connector
        return connector  # type: ignore[no-any-return]

    @property
    def data(self) -> DataFrame | None:
        """What is held now (the last save, or the initial data)."""
        return self.memory.data

    @property
    def writes(self) -> list[DataFrame]:
        """Every DataFrame saved, in order."""
        return self.memory.writes
