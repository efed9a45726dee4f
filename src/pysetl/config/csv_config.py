"""``CsvConfig``: a file config whose storage is always ``FileStorage.CSV``."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pysetl.config.file_config import FileConfig, FileConfigModel
from pysetl.enums import FileStorage

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["CsvConfig", "CsvConfigModel", "FileConfigModel"]


class CsvConfigModel(FileConfigModel):
    """Validated settings of a CSV dataset.

    Attributes:
        inferSchema: Spark's ``inferSchema`` option, as a string.
        header: Whether the first line is a header, as a string.
        delimiter: The column separator.
    """

    inferSchema: str = "true"
    header: str = "true"
    delimiter: str = ","


class CsvConfig(FileConfig):
    """Config of a CSV dataset; a ``storage`` given by the user is overridden."""

    model: ClassVar[type[BaseModel] | None] = CsvConfigModel

    @property
    def config(self) -> CsvConfigModel:
        """The validated model, with ``storage`` forced to ``CSV``.

        Raises:
            ConfigValidationError: A value does not fit the model.
        """
        return self._validate(CsvConfigModel, storage=FileStorage.CSV)
