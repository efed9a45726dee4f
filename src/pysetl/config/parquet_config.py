"""``ParquetConfig``: a file config whose storage is always ``FileStorage.PARQUET``."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pysetl.config.file_config import FileConfig, FileConfigModel
from pysetl.enums import FileStorage

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["FileConfigModel", "ParquetConfig", "ParquetConfigModel"]


class ParquetConfigModel(FileConfigModel):
    """Validated settings of a Parquet dataset."""


class ParquetConfig(FileConfig):
    """Config of a Parquet dataset; a ``storage`` given by the user is overridden."""

    model: ClassVar[type[BaseModel] | None] = ParquetConfigModel

    @property
    def config(self) -> ParquetConfigModel:
        """The validated model, with ``storage`` forced to ``PARQUET``.

        Raises:
            ConfigValidationError: A value does not fit the model.
        """
        return self._validate(ParquetConfigModel, storage=FileStorage.PARQUET)
