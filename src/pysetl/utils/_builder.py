"""``Builder``: the two-step ``build()`` then ``get()`` protocol of the old API."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from typing_extensions import Self

__all__ = ["Builder"]

T = TypeVar("T")


class Builder(ABC, Generic[T]):
    """Builds an object of type ``T``.

    Subclasses implement ``build()`` (which does the work and returns the
    builder) and ``get()`` (which returns the built object or raises
    ``BuilderError`` when ``build()`` was not called).

    Examples:
        ``BuilderError`` comes from ``pysetl.errors``:

        >>> class Answer(Builder[int]):
        ...     def __init__(self) -> None:
        ...         self.value: int | None = None
        ...     def build(self) -> "Answer":
        ...         self.value = 42
        ...         return self
        ...     def get(self) -> int:
        ...         if self.value is None:
        ...             raise BuilderError("Answer is not built")
        ...         return self.value
        >>> Answer().getOrCreate()
        42
    """

    @abstractmethod
    def build(self) -> Self:
        """Build the object and return this builder."""

    @abstractmethod
    def get(self) -> T:
        """Return the built object.

        Raises:
            BuilderError: ``build()`` has not been called.
        """

    def getOrCreate(self) -> T:
        """Build, then return the built object."""
        return self.build().get()
