"""OpenTelemetry traces and OTLP log shipping of runs (the ``otel`` extra)."""

from __future__ import annotations

from pysetl.monitoring.tracing._export import ExportGuard
from pysetl.monitoring.tracing._exporter import SPAN_ATTRIBUTES, OpenTelemetryExporter
from pysetl.monitoring.tracing._options import OpenTelemetryOptions
from pysetl.monitoring.tracing._tree import format_span_tree

__all__ = [
    "SPAN_ATTRIBUTES",
    "ExportGuard",
    "OpenTelemetryExporter",
    "OpenTelemetryOptions",
    "format_span_tree",
]
