"""``SharedReads``: identical reads within ``ttl`` seconds share one store read.

Fifty pages polling the run list ask the same question every few seconds;
one read answers them all. The first request of a key reads the store (the
others that arrive meanwhile wait for it rather than reading too: single
flight), and its answer serves that key for ``ttl`` seconds, so an answer
is at most ``ttl`` seconds old. A failed read is not kept: every waiter gets
its error, and the next request reads again. At most ``max_entries`` keys
are kept, the least recently used dropped first.

Added in 0.4.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

__all__ = ["SharedReads"]


@dataclass
class _Flight:
    """A read in progress that other requests of its key wait for."""

    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None


class SharedReads:
    """Answers of recent reads, shared by identical requests.

    Args:
        ttl: Seconds an answer is reused (``0``: every request reads).
        max_entries: Keys kept at most.
        clock: Monotonic seconds (injected by tests).

    Added in 0.4.
    """

    def __init__(
        self,
        ttl: float = 1.0,
        *,
        max_entries: int = 128,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Start with nothing kept."""
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self.reads = 0
        self._lock = threading.Lock()
        self._answers: dict[Hashable, tuple[float, Any]] = {}
        self._flights: dict[Hashable, _Flight] = {}

    def get(self, key: Hashable, read: Callable[[], Any]) -> Any:
        """The answer for ``key``: a recent one, the one being read, or ``read()``.

        Raises:
            BaseException: What ``read`` raised (for every request waiting).
        """
        with self._lock:
            kept = self._answers.pop(key, None)
            if kept is not None and self.clock() - kept[0] < self.ttl:
                self._answers[key] = kept  # most recently used: last
                return kept[1]
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value
        try:
            at = self.clock()
            flight.value = read()
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                self.reads += 1
                del self._flights[key]
                if flight.error is None and self.ttl > 0:
                    self._answers[key] = (at, flight.value)
                    while len(self._answers) > self.max_entries:
                        del self._answers[next(iter(self._answers))]
            flight.done.set()
        return flight.value
