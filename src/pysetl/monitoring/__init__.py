"""Observers of workflow events: the run history, its recorder, and metrics."""

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
from pysetl.monitoring.metrics import (
    FactoryMetrics,
    MetricsCollector,
    RunSummary,
    SparkFigures,
    kpi,
)

__all__ = [
    "BaseRunHistory",
    "FactoryMetrics",
    "HistoryLogHandler",
    "HistoryRecorder",
    "InMemoryRunHistory",
    "MetricsCollector",
    "PostgresRunHistory",
    "RunSummary",
    "SparkFigures",
    "SqlRunHistory",
    "SqliteRunHistory",
    "kpi",
    "open_history",
]
