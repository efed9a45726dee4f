"""OpenLineage export: run, factory and dataset lineage events (extra ``lineage``)."""

from __future__ import annotations

from pysetl.monitoring.lineage._datasets import (
    LineageDataset,
    dataset_of,
    file_dataset,
    jdbc_dataset,
    table_dataset,
)
from pysetl.monitoring.lineage._events import run_uuid
from pysetl.monitoring.lineage._exporter import OpenLineageExporter
from pysetl.monitoring.lineage._options import DEFAULT_PRODUCER, OpenLineageOptions

__all__ = [
    "DEFAULT_PRODUCER",
    "LineageDataset",
    "OpenLineageExporter",
    "OpenLineageOptions",
    "dataset_of",
    "file_dataset",
    "jdbc_dataset",
    "run_uuid",
    "table_dataset",
]
