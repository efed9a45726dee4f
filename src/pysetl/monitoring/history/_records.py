"""The old private home of the history's records and operations (re-exports only).

Import read records from ``pysetl.monitoring.history.records`` and write
operations from ``pysetl.monitoring.history.ops``; this module stays while
code of the package still names it.

Changed in 0.7: split into ``records`` and ``ops``.
"""

from __future__ import annotations

from pysetl.monitoring.history.ops import (
    MAX_TEXT,
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
    cut,
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
    level_number,
)

__all__ = [
    "LEVELS",
    "MAX_TEXT",
    "STATUSES",
    "AddEvent",
    "AddLog",
    "AddMetric",
    "AttemptSummary",
    "EventRecord",
    "FactoryAttemptRecord",
    "FactoryCounts",
    "FailureRecord",
    "FinishAttempt",
    "FinishRun",
    "FinishStage",
    "Heartbeat",
    "LogRecord",
    "MarkCrashed",
    "MetricRecord",
    "MetricTotal",
    "Op",
    "Page",
    "PipelineSummary",
    "RunRecord",
    "RunStatus",
    "SaveConfigVersion",
    "StageRecord",
    "StartAttempt",
    "StartRun",
    "StartStage",
    "cut",
    "error_to_dict",
    "level_number",
]
