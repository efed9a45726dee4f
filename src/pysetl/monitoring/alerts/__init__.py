"""Alerting: rules evaluated on runs, and notifications of their alerts."""

from __future__ import annotations

from pysetl.monitoring.alerts._config import (
    METRIC_ALIASES,
    AbsenceRule,
    AlertRule,
    AlertsSection,
    ConsecutiveFailuresRule,
    DeliveryOptions,
    DurationRule,
    FailureRateRule,
    MetricRule,
    NewErrorRule,
    RateLimit,
    RunFailedRule,
    parse_duration,
)
from pysetl.monitoring.alerts._engine import (
    AlertEngine,
    Delivery,
    Outcome,
    build_notifiers,
)
from pysetl.monitoring.alerts._notify import (
    NOTIFIER_TYPES,
    AlertMessage,
    AlertState,
    Notifier,
)
from pysetl.monitoring.alerts._observer import AlertObserver
from pysetl.monitoring.alerts._rules import Verdict, evaluate_absence, evaluate_run
from pysetl.monitoring.alerts._service import (
    AlertTimeline,
    AlertWatcher,
    alert_timeline,
    open_alert_history,
    project_alerts,
    silence,
)
from pysetl.monitoring.alerts._watch import alert_engine, alerts_section, watch

__all__ = [
    "METRIC_ALIASES",
    "NOTIFIER_TYPES",
    "AbsenceRule",
    "AlertEngine",
    "AlertMessage",
    "AlertObserver",
    "AlertRule",
    "AlertState",
    "AlertTimeline",
    "AlertWatcher",
    "AlertsSection",
    "ConsecutiveFailuresRule",
    "Delivery",
    "DeliveryOptions",
    "DurationRule",
    "FailureRateRule",
    "MetricRule",
    "NewErrorRule",
    "Notifier",
    "Outcome",
    "RateLimit",
    "RunFailedRule",
    "Verdict",
    "alert_engine",
    "alert_timeline",
    "alerts_section",
    "build_notifiers",
    "evaluate_absence",
    "evaluate_run",
    "open_alert_history",
    "parse_duration",
    "project_alerts",
    "silence",
    "watch",
]
