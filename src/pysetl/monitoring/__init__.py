"""Subscribers to workflow events: the run history store and its recorder."""

from __future__ import annotations

from pysetl.monitoring.history import (
    BaseRunHistory,
    HistoryLogHandler,
    HistoryRecorder,
    InMemoryRunHistory,
    PostgresRunHistory,
    SqliteRunHistory,
    SqlRunHistory,
    open_history,
)

__all__ = [
    "BaseRunHistory",
    "HistoryLogHandler",
    "HistoryRecorder",
    "InMemoryRunHistory",
    "PostgresRunHistory",
    "SqlRunHistory",
    "SqliteRunHistory",
    "open_history",
]
