"""Paging of query results: ``Page`` and the default page size.

Every query that can return many rows (the run history's lists, the config
versions and their audit) returns one ``Page`` at a time, with a cursor for
the next one, so that no caller loads a whole history at once.

Added in 0.7 (``Page`` was defined in ``pysetl.monitoring.history``, which
still exports it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["DEFAULT_LIMIT", "Page"]

T = TypeVar("T")

DEFAULT_LIMIT = 50
"""The page size of a query that is not given one."""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a query's results.

    Attributes:
        items: The rows of this page, in the query's order.
        next_cursor: Pass it as ``cursor=`` to get the next page; ``None``
            when this is the last page.
    """

    items: tuple[T, ...]
    next_cursor: str | None = None
