"""The run history: runs, attempts, events, metrics, logs and config versions."""

from __future__ import annotations

from pysetl.monitoring.history._base import (
    DEFAULT_LIMIT,
    RUN_START_EVENT,
    STALE_AFTER,
    BaseRunHistory,
)
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
from pysetl.monitoring.history.ops import (
    AddEvent,
    AddLog,
    AddMetric,
    FinishAttempt,
    FinishRun,
    FinishStage,
    Heartbeat,
    MarkCrashed,
    Op,
    SaveConfigVersion,
    StartAttempt,
    StartRun,
    StartStage,
    error_to_dict,
)
from pysetl.monitoring.history.records import (
    LEVELS,
    STATUSES,
    AttemptSummary,
    EventRecord,
    FactoryAttemptRecord,
    FactoryCounts,
    FailureRecord,
    LogRecord,
    MetricRecord,
    MetricTotal,
    Page,
    PipelineSummary,
    RunRecord,
    RunStatus,
    StageRecord,
)

__all__ = [
    "DEFAULT_LIMIT",
    "HISTORY_URL_ENV",
    "LATEST_VERSION",
    "LEVELS",
    "MAX_LIMIT",
    "RUN_START_EVENT",
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
    "RunStatus",
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
