"""Metrics of runs: the per-factory collector, its records, and users' KPIs."""

from __future__ import annotations

from pysetl.monitoring.metrics import kpi
from pysetl.monitoring.metrics._collector import MetricsCollector
from pysetl.monitoring.metrics._progress import (
    SPARK_PROGRESS_EVENT,
    SparkProgressSampler,
)
from pysetl.monitoring.metrics._records import (
    METRIC_NAMES,
    FactoryMetrics,
    KpiValue,
    ProfileLine,
    RunSummary,
    SparkFigures,
)

__all__ = [
    "METRIC_NAMES",
    "SPARK_PROGRESS_EVENT",
    "FactoryMetrics",
    "KpiValue",
    "MetricsCollector",
    "ProfileLine",
    "RunSummary",
    "SparkFigures",
    "SparkProgressSampler",
    "kpi",
]
