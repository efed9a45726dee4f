"""``GenericFileConfig``: a file dataset in any format Spark can read (avro, text...).

Added in 0.2.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field

from pysetl.config.file_config import FileConfig, FileConfigModel
from pysetl.enums import FileStorage

__all__ = ["GenericFileConfig", "GenericFileConfigModel"]


class GenericFileConfigModel(FileConfigModel):
    """Validated settings of a file dataset in a format named by ``format``.

    Attributes:
        format: The Spark format name (``"avro"``, ``"text"``, ``"xml"``...).
    """

    format: str = Field(min_length=1)


class GenericFileConfig(FileConfig):
    """Config of a file dataset in any Spark format; storage is forced to ``GENERIC``.

    Examples:
        >>> cfg = GenericFileConfig(path="/data/notes", format="text")
        >>> cfg.config.format, cfg.reader_config
        ('text', {})
    """

    model: ClassVar[type[BaseModel] | None] = GenericFileConfigModel

    @property
    def config(self) -> GenericFileConfigModel:
        """The validated model, with ``storage`` forced to ``GENERIC``.

        Raises:
            ConfigValidationError: A value does not fit the model.
        """
        return self._validate(GenericFileConfigModel, storage=FileStorage.GENERIC)

    @property
    def _options(self) -> dict[str, Any]:
        # ``format`` selects the data source; it is not an option of it.
        return {k: v for k, v in super()._options.items() if k != "format"}
