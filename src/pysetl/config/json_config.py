"""``JsonConfig``: a file config whose storage is always ``FileStorage.JSON``."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pysetl.config.file_config import FileConfig, FileConfigModel
from pysetl.enums import FileStorage

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["FileConfigModel", "JsonConfig", "JsonConfigModel"]


class JsonConfigModel(FileConfigModel):
    """Validated settings of a JSON dataset."""


class JsonConfig(FileConfig):
    """Config of a JSON dataset; a ``storage`` given by the user is overridden."""

    model: ClassVar[type[BaseModel] | None] = JsonConfigModel

    @property
    def config(self) -> JsonConfigModel:
        """The validated model, with ``storage`` forced to ``JSON``.

        Raises:
            ConfigValidationError: A value does not fit the model.
        """
        return self._validate(JsonConfigModel, storage=FileStorage.JSON)
