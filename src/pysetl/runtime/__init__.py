"""The composition root: one session builds, hands out and closes a run's world."""

from __future__ import annotations

from pysetl.runtime._default import attach_default
from pysetl.runtime._execution import (
    EXECUTION_SECTION,
    ExecutionSection,
    FactorySection,
    RetrySection,
)
from pysetl.runtime._logs import RUN_LOGGER, RunLogCapture, RunLogger
from pysetl.runtime._monitoring import (
    LogsSection,
    MetricsSection,
    MonitoringSection,
    ObserverSpec,
    ProgressSection,
)
from pysetl.runtime._session import MONITORING_SECTION, Session, close_open_sessions

__all__ = [
    "EXECUTION_SECTION",
    "MONITORING_SECTION",
    "RUN_LOGGER",
    "ExecutionSection",
    "FactorySection",
    "LogsSection",
    "MetricsSection",
    "MonitoringSection",
    "ObserverSpec",
    "ProgressSection",
    "RetrySection",
    "RunLogCapture",
    "RunLogger",
    "Session",
    "attach_default",
    "close_open_sessions",
]
