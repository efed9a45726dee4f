"""File connectors bound to one format: CSV, JSON, Parquet, ORC, and any other.

Changed in 0.2: ``OrcConnector`` and ``GenericFileConnector`` are new.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pysetl.enums import FileStorage
from pysetl.errors import ConfigError
from pysetl.storage.connector._file import FileConnector

if TYPE_CHECKING:
    from pysetl.config.config import Config

__all__ = [
    "CsvConnector",
    "GenericFileConnector",
    "JsonConnector",
    "OrcConnector",
    "ParquetConnector",
]


class CsvConnector(FileConnector):
    """A ``FileConnector`` that accepts only CSV configs."""

    storage: ClassVar[FileStorage | None] = FileStorage.CSV
    label: ClassVar[str] = "Csv"


class JsonConnector(FileConnector):
    """A ``FileConnector`` that accepts only JSON configs."""

    storage: ClassVar[FileStorage | None] = FileStorage.JSON
    label: ClassVar[str] = "Json"


class ParquetConnector(FileConnector):
    """A ``FileConnector`` that accepts only Parquet configs."""

    storage: ClassVar[FileStorage | None] = FileStorage.PARQUET
    label: ClassVar[str] = "Parquet"


class OrcConnector(FileConnector):
    """A ``FileConnector`` that accepts only ORC configs.

    Added in 0.2.
    """

    storage: ClassVar[FileStorage | None] = FileStorage.ORC
    label: ClassVar[str] = "Orc"


class GenericFileConnector(FileConnector):
    """A ``FileConnector`` for any Spark format, named by the config's ``format``.

    It accepts a ``GenericFileConfig``, or a ``FileConfig`` with
    ``storage=FileStorage.GENERIC`` and a ``format`` key.

    Added in 0.2.
    """

    storage: ClassVar[FileStorage | None] = FileStorage.GENERIC
    label: ClassVar[str] = "GenericFile"

    def __init__(self, options: Config[Any]) -> None:
        """Validate ``options`` and check that it names a format."""
        super().__init__(options)
        spark_format = getattr(self.config, "format", None)
        if not isinstance(spark_format, str) or not spark_format:
            msg = f"{type(options).__name__} for {self.config.path!r} names no format"
            hint = 'Add format="avro" (or any Spark format name) to the config.'
            raise ConfigError(msg, hint=hint, config=type(options).__name__)
        self._format = spark_format
        # ``format`` selects the data source; it is not one of its options.
        self.reader_config = {
            k: v for k, v in self.reader_config.items() if k != "format"
        }
        self.writer_config = {
            k: v for k, v in self.writer_config.items() if k != "format"
        }

    @property
    def format(self) -> str:
        """The Spark format name from the config."""
        return self._format
