"""``OrcConfig``: a file config whose storage is always ``FileStorage.ORC``.

Added in 0.2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pysetl.config.file_config import FileConfig, FileConfigModel
from pysetl.enums import FileStorage

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["FileConfigModel", "OrcConfig", "OrcConfigModel"]


class OrcConfigModel(FileConfigModel):
    """Validated settings of a ORC dataset."""


class OrcConfig(FileConfig):
    """Config of a ORC dataset; a ``storage`` given by the user is overridden."""

    model: ClassVar[type[BaseModel] | None] = OrcConfigModel

    @property
    def config(self) -> OrcConfigModel:
        """The validated model, with ``storage`` forced to ``ORC``.

        Raises:
            ConfigValidationError: A value does not fit the model.
        """
        return self._validate(OrcConfigModel, storage=FileStorage.ORC)
