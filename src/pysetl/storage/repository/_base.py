"""``BaseRepository``: typed load and save of one dataset."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Generic, TypeVar

from typedspark import Schema

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from typedspark import DataSet
    from typing_extensions import Self

__all__ = ["BaseRepository"]

T = TypeVar("T", bound=Schema)


class BaseRepository(ABC, Generic[T]):
    """Loads and saves a dataset typed by the typedspark schema ``T``."""

    @abstractmethod
    def load(self) -> DataSet[T]:
        """Load the dataset."""

    @abstractmethod
    def save(self, data: DataFrame) -> Self:
        """Save ``data``; returns this repository."""
