"""``SparkTableConfig``: a table of the Spark SQL catalog (a managed table).

Added in 0.2.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from pysetl.config.config import BaseConfigModel, Config
from pysetl.enums import DbStorage, SaveMode

__all__ = ["SparkTableConfig", "SparkTableConfigModel"]

_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"


class SparkTableConfigModel(BaseConfigModel):
    """Validated settings of a Spark SQL table.

    Attributes:
        storage: Always ``DbStorage.SPARK_SQL``.
        table: The table name (letters, digits and ``_``).
        database: The database (schema) holding it; the current one when ``None``.
        savemode: What a write does when the table exists (a ``SaveMode`` or
            its value, such as ``"append"``).
        partition_by: Columns to partition by on write.
        format: The table's data source on write (``parquet`` when ``None``).
        options: Other writer options, by their Spark name.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    storage: DbStorage = DbStorage.SPARK_SQL
    table: str = Field(pattern=_IDENTIFIER)
    database: str | None = Field(default=None, pattern=_IDENTIFIER)
    # Not strict, unlike file configs: "append" from YAML is accepted here.
    savemode: SaveMode = Field(default=SaveMode.ERRORIFEXISTS, strict=False)
    partition_by: list[str] = Field(default_factory=list)
    format: str | None = None
    options: dict[str, str] = Field(default_factory=dict)

    @property
    def full_name(self) -> str:
        """The quoted, qualified name: ``db.table`` with backticks."""
        if self.database is None:
            return f"`{self.table}`"
        return f"`{self.database}`.`{self.table}`"


class SparkTableConfig(Config[SparkTableConfigModel]):
    """Config of a Spark SQL table; ``storage`` is always ``SPARK_SQL``.

    Examples:
        >>> SparkTableConfig(table="orders", database="shop").config.full_name
        '`shop`.`orders`'
    """

    model: ClassVar[type[BaseModel] | None] = SparkTableConfigModel

    @property
    def config(self) -> SparkTableConfigModel:
        """The validated model.

        Raises:
            ConfigValidationError: A value does not fit the model.
        """
        return self._validate(SparkTableConfigModel, storage=DbStorage.SPARK_SQL)

    @property
    def reader_config(self) -> dict[str, Any]:
        """Reader options (a catalog table needs none)."""
        return {}

    @property
    def writer_config(self) -> dict[str, Any]:
        """The ``options`` for ``saveAsTable``."""
        return dict(self.config.options)
