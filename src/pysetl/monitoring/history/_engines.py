"""The SQLAlchemy engines that the SQLite stores of one process share.

SQLAlchemy compiles a statement once per engine and pools connections per
engine. Every session opens the run history, so with an engine per store
each run connected again and compiled every statement again: its config
version, its run's end, the Prometheus export's queries (that export took
about 11 ms of CPU on a new engine, 4.4 ms on one that had run it before). So
stores of the same SQLite file,
opened with the same settings, share one engine in a process, as SQLAlchemy
advises (an engine per database per process).

A store takes the engine when it first needs it (``acquire``) and gives it
back when it closes (``release``). An engine nobody uses stays open, idle,
for the next store of that file; beyond ``idle`` such engines the oldest is
closed. An engine whose file was removed or replaced (another inode) is not
handed out again: its connections still see the old file. A forked child
forgets the parent's engines without closing their connections (the
parent's), as SQLAlchemy advises for ``fork``.

Added in 0.8.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    import sqlalchemy as sa

__all__ = ["SHARED_ENGINES", "SharedEngine", "SharedEngines"]


@dataclass(eq=False, slots=True)
class SharedEngine:
    """One shared engine: its key, the file's identity, how many stores use it."""

    key: Hashable
    engine: sa.Engine
    identity: Any
    users: int = 0
    last_used: int = 0


class SharedEngines:
    """The engines of a process, by store key (see the module docstring).

    Args:
        idle: How many engines nobody uses stay open.
    """

    def __init__(self, idle: int = 4) -> None:
        """Start with no engine."""
        self.idle = idle
        self._lock = threading.Lock()
        self._entries: dict[Hashable, SharedEngine] = {}
        self._clock = 0

    def acquire(
        self, key: Hashable, identity: Any, make: Callable[[], sa.Engine]
    ) -> SharedEngine:
        """The engine of ``key`` (made by ``make`` when missing or stale).

        Args:
            key: What makes two stores share an engine (the file and the
                store's settings).
            identity: The file's identity now (device and inode, or
                ``None``): an engine made for another identity is stale.
            make: Makes a new engine.
        """
        stale: SharedEngine | None = None
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.identity != identity:
                del self._entries[key]  # its users keep it until they release
                stale, entry = (entry if entry.users == 0 else None), None
            if entry is None:
                entry = self._entries[key] = SharedEngine(key, make(), identity)
            entry.users += 1
        if stale is not None:
            stale.engine.dispose()
        return entry

    def release(self, entry: SharedEngine) -> bool:
        """Give ``entry`` back; whether nobody uses it now and it stays open."""
        closing: list[SharedEngine] = []
        with self._lock:
            entry.users = max(0, entry.users - 1)
            if entry.users:
                return False
            if self._entries.get(entry.key) is not entry:  # stale or forgotten
                closing.append(entry)
            else:
                self._clock += 1
                entry.last_used = self._clock
                idle = sorted(
                    (e for e in self._entries.values() if e.users == 0),
                    key=lambda e: e.last_used,
                )
                for old in idle[: max(0, len(idle) - self.idle)]:
                    del self._entries[old.key]
                    closing.append(old)
        for old in closing:
            old.engine.dispose()
        return entry not in closing

    def forget(self) -> None:
        """Forget every engine without closing its connections (after ``fork``)."""
        self._lock = threading.Lock()
        for entry in self._entries.values():
            entry.engine.dispose(close=False)
        self._entries = {}

    def __len__(self) -> int:
        """How many engines are kept."""
        return len(self._entries)


SHARED_ENGINES = SharedEngines()
"""The process's shared engines (used by ``SqliteRunHistory``)."""

if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=SHARED_ENGINES.forget)
