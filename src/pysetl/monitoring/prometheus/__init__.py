"""Prometheus export of the run history, and Grafana dashboards and alerting rules."""

from __future__ import annotations

from pysetl.monitoring.prometheus._assets import alert_rules, dashboards
from pysetl.monitoring.prometheus._collector import (
    FINISHED_STATUSES,
    KPI_PREFIX,
    HistoryCollector,
    collect_from_history,
    render_metrics,
)
from pysetl.monitoring.prometheus._exporter import PrometheusExporter
from pysetl.monitoring.prometheus._options import MAX_TIMEOUT, PrometheusOptions
from pysetl.monitoring.prometheus._push import PUSH_FAILURES, Pusher

__all__ = [
    "FINISHED_STATUSES",
    "KPI_PREFIX",
    "MAX_TIMEOUT",
    "PUSH_FAILURES",
    "HistoryCollector",
    "PrometheusExporter",
    "PrometheusOptions",
    "Pusher",
    "alert_rules",
    "collect_from_history",
    "dashboards",
    "render_metrics",
]
