"""What a writer's users hand it and get back, and which threads are writers'.

``Sink`` is what ``put`` items go to, ``Ticker`` what ``every`` returns;
``on_writer_thread`` tells the log capture to skip a writer's own records.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["WRITER_THREADS", "Sink", "Ticker", "on_writer_thread"]

# The idents of the running writers' threads (each adds and removes its own).
WRITER_THREADS: set[int] = set()


def on_writer_thread() -> bool:
    """Whether the calling thread is a writer's (its log records are not captured)."""
    return threading.get_ident() in WRITER_THREADS


class Sink(Protocol):
    """Where ``put`` items end up: written in batches, on the writer's thread.

    A sink may also have ``pack(item) -> object``: ``put`` calls it on the
    caller's thread and queues what it returns, which ``write_batch`` then
    gets. A store packs an operation into a tuple of plain values, which
    the garbage collector stops tracking (see ``SqlRunHistory.pack``); a
    ``pack`` that raises loses that item alone (logged and counted).
    """

    def write_batch(self, items: Sequence[Any], /) -> None:
        """Write ``items`` (in the order they were put); raise to have them retried."""


@dataclass(eq=False)
class Ticker:
    """A periodic task of a writer; ``cancel()`` stops it."""

    interval: float
    function: Callable[[], object]
    key: str
    due: float
    cancelled: bool = False

    def cancel(self) -> None:
        """Stop calling the task (a call in progress finishes)."""
        self.cancelled = True
