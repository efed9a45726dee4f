"""The run history: stores of runs, attempts, events, metrics and logs; a recorder."""

from __future__ import annotations

from pysetl.monitoring.history._base import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    STALE_AFTER,
    BaseRunHistory,
)
from pysetl.monitoring.history._memory import InMemoryRunHistory
from pysetl.monitoring.history._open import (
    HISTORY_URL_ENV,
    default_history_path,
    find_project_dir,
    open_history,
)
from pysetl.monitoring.history._postgres import PostgresRunHistory
from pysetl.monitoring.history._recorder import HistoryLogHandler, HistoryRecorder
from pysetl.monitoring.history._records import (
    STATUSES,
    AddLog,
    EventRecord,
    FactoryAttemptRecord,
    LogRecord,
    MetricRecord,
    Page,
    RunRecord,
    StageRecord,
    error_to_dict,
)
from pysetl.monitoring.history._schema import LATEST_VERSION
from pysetl.monitoring.history._sql import SqlRunHistory
from pysetl.monitoring.history._sql_rows import redact_url
from pysetl.monitoring.history._sqlite import SqliteRunHistory

__all__ = [
    "DEFAULT_LIMIT",
    "HISTORY_URL_ENV",
    "LATEST_VERSION",
    "MAX_LIMIT",
    "STALE_AFTER",
    "STATUSES",
    "AddLog",
    "BaseRunHistory",
    "EventRecord",
    "FactoryAttemptRecord",
    "HistoryLogHandler",
    "HistoryRecorder",
    "InMemoryRunHistory",
    "LogRecord",
    "MetricRecord",
    "Page",
    "PostgresRunHistory",
    "RunRecord",
    "SqlRunHistory",
    "SqliteRunHistory",
    "StageRecord",
    "default_history_path",
    "error_to_dict",
    "find_project_dir",
    "open_history",
    "redact_url",
]
