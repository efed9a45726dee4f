"""``SparkRepository[T]``: a typed, optionally cached view of one connector.

It must be subscripted with its schema (``SparkRepository[Orders](connector)``):
the schema is read from the subscription at run time.
"""

from __future__ import annotations

from functools import reduce
from typing import TYPE_CHECKING, Any, TypeVar, get_args

from pyspark import StorageLevel
from pyspark.sql import Column
from pyspark.sql import functions as F  # noqa: N812 - the usual Spark spelling
from typedspark import DataSet, Schema

from pysetl.errors import ConnectorError
from pysetl.storage.connector._file import FileConnector
from pysetl.storage.repository._base import BaseRepository
from pysetl.utils._pretty import pretty
from pysetl.utils.dataset_access import record_access
from pysetl.utils.mixins import CanDrop, CanPartition, HasLogger, HasSparkSession

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from typing_extensions import Self

    from pysetl.storage.connector._base import BaseConnector

__all__ = ["SparkRepository"]

T = TypeVar("T", bound=Schema)


class SparkRepository(BaseRepository[T], HasLogger, HasSparkSession):
    """Typed reads and writes through a connector, with optional caching.

    ``load()`` and ``find()`` of JSON and CSV files parse them with the
    column types of ``T`` (see ``FileConnector.read_with_schema``), so an
    ``IntegerType`` column reads back as ``IntegerType``.

    With ``cache=True`` the first ``load()`` persists the data and later
    loads return it, until a ``save()`` marks it stale: the next ``load()``
    then reads again (read-after-write consistency).

    Examples:
        >>> repo = SparkRepository[Orders](ParquetConnector(ParquetConfig(path=p)))
        >>> repo.save(orders).load()                    # doctest: +SKIP
        >>> repo.find(Orders.amount > 100, country="FR")   # doctest: +SKIP

    Args:
        connector: Where the data lives.
        cache: Keep the loaded data persisted between loads.
        flush: Start with a pending flush (the next cached load reads again).
        storage_level: How cached data is persisted.
    """

    def __init__(
        self,
        connector: BaseConnector,
        cache: bool = False,
        flush: bool = False,
        storage_level: StorageLevel = StorageLevel.MEMORY_AND_DISK,
    ) -> None:
        """Remember the connector; gets (or starts) the SparkSession."""
        self._connector = connector
        self._cache = cache
        self.flush = flush
        self.storage_level = storage_level
        self._cached: DataFrame | None = None
        # As in the old API, a repository makes sure a session exists.
        _ = self.spark

    @property
    def type_annotation(self) -> Any:
        """``SparkRepository[T]`` as subscripted at construction.

        Raises:
            AttributeError: The repository was not subscripted.
        """
        return self.__orig_class__  # type: ignore[attr-defined]

    @property
    def schema(self) -> type[T]:
        """The typedspark schema ``T``."""
        schema: type[T] = get_args(self.type_annotation)[0]
        return schema

    def __str__(self) -> str:
        """``SparkRepository[<Schema>]``."""
        try:
            return pretty(self.type_annotation)
        except AttributeError:
            return f"{type(self).__name__}[?]"

    __repr__ = __str__

    @property
    def connector(self) -> BaseConnector:
        """The connector (read-only)."""
        return self._connector

    @property
    def cache(self) -> bool:
        """Whether loads are cached."""
        return self._cache

    @cache.setter
    def cache(self, value: bool) -> None:
        """Turn caching on or off."""
        self._cache = value

    def set_cache(self, value: bool) -> Self:
        """Turn caching on or off; returns this repository."""
        self._cache = value
        return self

    def _typed(self, data: DataFrame) -> DataSet[T]:
        return DataSet[self.schema](data)  # type: ignore[name-defined]

    def _read(self) -> DataFrame:
        record_access(self, "read")  # lineage: who read what (utils.dataset_access)
        if not self._cache:
            return self._read_connector()
        if self.flush or self._cached is None:
            if self._cached is not None:
                self._cached.unpersist()
            self._cached = self._read_connector().persist(self.storage_level)
        return self._cached

    def _read_connector(self) -> DataFrame:
        # Schema-on-read files (JSON, CSV) are parsed with T's column types,
        # not the ones Spark would infer (an int column read back as long).
        if isinstance(self._connector, FileConnector):
            return self._connector.read_with_schema(self.schema.get_structtype())
        return self._connector.read()

    def load(self) -> DataSet[T]:
        """Load the data as ``DataSet[T]`` (from the cache when fresh).

        Every load clears a pending flush.
        """
        data = self._read()
        self.flush = False
        return self._typed(data)

    def save(self, data: DataFrame) -> Self:
        """Write ``data`` through the connector and mark the cache stale."""
        self.flush = True
        record_access(self, "write")  # lineage: who wrote what (utils.dataset_access)
        self._connector.write(data)
        return self

    def find(self, *conditions: Column | str, **equals: Any) -> DataSet[T]:
        """Load the rows that satisfy every condition.

        Conditions are combined with AND and applied before any action, so
        Spark pushes them down to the source (Parquet/ORC row groups, JDBC
        ``WHERE``) when it can.

        Examples:
            >>> repo.find(F.col("amount") > 100, "day >= '2024-01-01'", country="FR")
            ... # doctest: +SKIP

        Args:
            *conditions: Boolean columns, or SQL expressions as strings.
            **equals: ``column=value`` equality tests; ``None`` tests for null
                and a list, tuple or set tests membership.

        Returns:
            The matching rows as ``DataSet[T]``.

        Raises:
            ConnectorError: A keyword names a column that ``T`` does not have.
        """
        known = self.schema.get_structtype().fieldNames()
        unknown = sorted(set(equals) - set(known))
        if unknown:
            msg = f"{self} has no column {unknown[0]!r}"
            hint = f"Columns of {pretty(self.schema)}: {known}."
            raise ConnectorError(msg, hint=hint, connector=repr(self._connector))
        predicates = [F.expr(c) if isinstance(c, str) else c for c in conditions]
        predicates += [_equals(name, value) for name, value in equals.items()]
        data = self._read()
        self.flush = False
        if predicates:
            data = data.filter(reduce(lambda a, b: a & b, predicates))
        return self._typed(data)

    def list_partitions(self) -> list[str]:
        """The partitions of the dataset.

        Raises:
            ConnectorError: The connector has no partitions.
        """
        return self._partitioned().list_partitions()

    def load_partitions(self, partitions: list[str]) -> DataSet[T]:
        """Load only ``partitions`` as ``DataSet[T]``.

        Raises:
            ConnectorError: The connector has no partitions.
        """
        partitioned = self._partitioned()
        record_access(self, "read")
        return self._typed(partitioned.read_partitions(partitions))

    def drop(self) -> Self:
        """Delete the whole dataset; returns this repository.

        Raises:
            ConnectorError: The connector cannot drop its data.
        """
        if not isinstance(self._connector, CanDrop):
            msg = "Current connector doesn't support drop"
            hint = (
                f"{self._connector!r} does not mix in CanDrop; drop the data yourself."
            )
            raise ConnectorError(msg, hint=hint, connector=repr(self._connector))
        self._connector.drop()
        self.flush = True
        return self

    def _partitioned(self) -> CanPartition:
        if not isinstance(self._connector, CanPartition):
            msg = "Current connector doesn't support partitions"
            hint = f"{self._connector!r} does not mix in CanPartition; use load()."
            raise ConnectorError(msg, hint=hint, connector=repr(self._connector))
        return self._connector


def _equals(name: str, value: Any) -> Column:
    column = F.col(name)
    if value is None:
        return column.isNull()
    if isinstance(value, list | tuple | set | frozenset):
        return column.isin(list(value))
    equal: Column = column == value
    return equal
