"""``FileConfig``: where and how a file dataset is stored.

The model is lenient about extra keys on purpose: every key that is not a
declared field is a Spark reader/writer option (``sep``, ``compression``...).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pysetl.config.aws_credentials import AwsCredentials
from pysetl.config.config import BaseConfigModel, Config
from pysetl.enums import FileStorage, SaveMode

if TYPE_CHECKING:
    from typing import TypeAlias

    from pyspark.sql.types import StructType

    SchemaField: TypeAlias = StructType | None
else:
    # Validated by ``_check_schema`` so that pyspark is never imported here.
    SchemaField = Any

__all__ = ["AwsCredentials", "FileConfig", "FileConfigModel"]


class FileConfigModel(BaseConfigModel):
    """Validated settings of a file dataset; extra keys are Spark options.

    Attributes:
        storage: The file format.
        path: Where the data lives (a local path or a URI); a plain ``str``.
        partition_by: Columns to partition by on write.
        savemode: What a write does when data exists (a ``SaveMode``, not a str).
        data_schema: Columns (and their order) to keep on write.
        aws_credentials: Keys for an ``s3://`` path.
    """

    model_config = ConfigDict(
        extra="allow", frozen=True, strict=True, arbitrary_types_allowed=True
    )

    storage: FileStorage
    path: str
    partition_by: list[str] = Field(default_factory=list)
    savemode: SaveMode = SaveMode.ERRORIFEXISTS
    data_schema: SchemaField = None
    aws_credentials: AwsCredentials | None = None

    @field_validator("data_schema", mode="before")
    @classmethod
    def _check_schema(cls, value: Any) -> Any:
        if value is None:
            return value
        # A StructType can only exist if pyspark was imported by the caller.
        types = sys.modules.get("pyspark.sql.types")
        if types is None or not isinstance(value, types.StructType):
            msg = "Input should be an instance of pyspark.sql.types.StructType"
            raise ValueError(msg)
        return value


FILE_FIELDS = frozenset(FileConfigModel.model_fields)


class FileConfig(Config[FileConfigModel]):
    """Config of a file dataset of any format (``storage`` is required).

    Examples:
        >>> cfg = FileConfig(storage=FileStorage.CSV, path="/data/x.csv", sep=";")
        >>> cfg.reader_config
        {'sep': ';'}
    """

    model: ClassVar[type[BaseModel] | None] = FileConfigModel

    @property
    def config(self) -> FileConfigModel:
        """The validated ``FileConfigModel``.

        Raises:
            ConfigValidationError: A value does not fit the model.
        """
        return self._validate(FileConfigModel)

    @property
    def _options(self) -> dict[str, Any]:
        model = self.config
        return {k: v for k, v in model if k not in FILE_FIELDS}

    @property
    def reader_config(self) -> dict[str, Any]:
        """Every validated key that is not a ``FileConfigModel`` field."""
        return self._options

    @property
    def writer_config(self) -> dict[str, Any]:
        """The same options as ``reader_config``."""
        return self._options
