"""``SparkTableConnector``: a table of the Spark SQL catalog.

Reads with ``spark.table`` and writes with ``saveAsTable``, so tables land in
the session's warehouse (or metastore) and can be queried with SQL.

Added in 0.2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pysetl.config.table_config import SparkTableConfigModel
from pysetl.errors import ConfigError, ConnectorError
from pysetl.storage.connector._base import Connector
from pysetl.utils.mixins import CanDrop
from pysetl.utils.spark_errors import describe_exception

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from pysetl.config.config import Config

__all__ = ["SparkTableConnector"]


class SparkTableConnector(Connector, CanDrop):
    """Reads and writes a managed table of the Spark SQL catalog.

    Examples:
        >>> repo_connector = SparkTableConnector(
        ...     SparkTableConfig(table="orders", savemode=SaveMode.OVERWRITE)
        ... )
        >>> repo_connector.write(df)   # doctest: +SKIP

    Args:
        options: A ``SparkTableConfig``; validated here.

    Raises:
        ConfigError: ``options`` is not a valid ``SparkTableConfig``.
    """

    def __init__(self, options: Config[Any]) -> None:
        """Validate ``options``."""
        model = options.config
        if not isinstance(model, SparkTableConfigModel):
            msg = "Not a SparkTableConfig for a SparkTableConnector"
            hint = f"Use SparkTableConfig(table=...); got {type(options).__name__}."
            raise ConfigError(msg, hint=hint, config=type(options).__name__)
        self.config: SparkTableConfigModel = model

    @property
    def target(self) -> str:
        """The qualified table name."""
        return self.config.full_name

    def _fail(self, action: str, exc: Exception) -> ConnectorError:
        msg = f"Spark table {action} of {self.target} failed: {describe_exception(exc)}"
        hint = "Check that the table (and database) exist and the data fits it."
        return ConnectorError(msg, hint=hint, connector=repr(self))

    def read(self) -> DataFrame:
        """Read the table.

        Raises:
            ConnectorError: The table does not exist or cannot be read.
        """
        try:
            return self.spark.table(self.target)
        except Exception as exc:
            action = "read"
            raise self._fail(action, exc) from exc

    def write(self, data: DataFrame) -> None:
        """Save ``data`` as the table with the configured mode and partitions.

        Raises:
            ConfigError: A ``partition_by`` column is missing from ``data``.
            ConnectorError: Spark failed to save the table.
        """
        missing = [c for c in self.config.partition_by if c not in data.columns]
        if missing:
            msg = "Partition columns in configuration not in data"
            hint = f"Missing {missing}; the data has {data.columns}."
            raise ConfigError(msg, hint=hint)
        writer = (
            data.write.mode(self.config.savemode.value)
            .options(**self.config.options)
            .partitionBy(*self.config.partition_by)
        )
        if self.config.format is not None:
            writer = writer.format(self.config.format)
        self.log_debug(f"Saving table {self.target}")
        try:
            writer.saveAsTable(self.target)
        except Exception as exc:
            action = "write"
            raise self._fail(action, exc) from exc

    def drop(self) -> None:
        """Drop the table if it exists."""
        # The name is validated as identifiers by the config, so this is safe.
        self.spark.sql(f"DROP TABLE IF EXISTS {self.target}")
