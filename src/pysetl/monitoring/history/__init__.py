"""The run history: runs, attempts, events, metrics, logs and config versions."""

from __future__ import annotations

from pysetl.monitoring.history._base import DEFAULT_LIMIT, STALE_AFTER, BaseRunHistory
from pysetl.monitoring.history._checks import MAX_LIMIT
from pysetl.monitoring.history._log_handler import HistoryLogHandler
from pysetl.monitoring.history._memory import InMemoryRunHistory
from pysetl.monitoring.history._open import (
    HISTORY_URL_ENV,
    default_history_path,
    find_project_dir,
    open_history,
)
from pysetl.monitoring.history._postgres import PostgresRunHistory
from pysetl.monitoring.history._recorder import HistoryRecorder, pipeline_graph
from pysetl.monitoring.history._records import (
    LEVELS,
    STATUSES,
    AddEvent,
    AddLog,
    AddMetric,
    AttemptSummary,
    EventRecord,
    FactoryAttemptRecord,
    FactoryCounts,
    FailureRecord,
    FinishAttempt,
    FinishRun,
    FinishStage,
    Heartbeat,
    LogRecord,
    MarkCrashed,
    MetricRecord,
    MetricTotal,
    Op,
    Page,
    PipelineSummary,
    RunRecord,
    SaveConfigVersion,
    StageRecord,
    StartAttempt,
    StartRun,
    StartStage,
    error_to_dict,
)
from pysetl.monitoring.history._schema import LATEST_VERSION
from pysetl.monitoring.history._sql import SqlRunHistory
from pysetl.monitoring.history._sql_rows import redact_url
from pysetl.monitoring.history._sqlite import SqliteRunHistory
from pysetl.monitoring.history.config_store import (
    ConfigAuditRecord,
    ConfigAuditSubscriber,
    ConfigStore,
    ConfigVersionRecord,
    RollbackResult,
    recorder_for_config,
    rollback_config,
)

__all__ = [
    "DEFAULT_LIMIT",
    "HISTORY_URL_ENV",
    "LATEST_VERSION",
    "LEVELS",
    "MAX_LIMIT",
    "STALE_AFTER",
    "STATUSES",
    "AddEvent",
    "AddLog",
    "AddMetric",
    "AttemptSummary",
    "BaseRunHistory",
    "ConfigAuditRecord",
    "ConfigAuditSubscriber",
    "ConfigStore",
    "ConfigVersionRecord",
    "EventRecord",
    "FactoryAttemptRecord",
    "FactoryCounts",
    "FailureRecord",
    "FinishAttempt",
    "FinishRun",
    "FinishStage",
    "Heartbeat",
    "HistoryLogHandler",
    "HistoryRecorder",
    "InMemoryRunHistory",
    "LogRecord",
    "MarkCrashed",
    "MetricRecord",
    "MetricTotal",
    "Op",
    "Page",
    "PipelineSummary",
    "PostgresRunHistory",
    "RollbackResult",
    "RunRecord",
    "SaveConfigVersion",
    "SqlRunHistory",
    "SqliteRunHistory",
    "StageRecord",
    "StartAttempt",
    "StartRun",
    "StartStage",
    "default_history_path",
    "error_to_dict",
    "find_project_dir",
    "open_history",
    "pipeline_graph",
    "recorder_for_config",
    "redact_url",
    "rollback_config",
]
