"""Users' KPIs: the same module as ``pysetl.workflow.kpi`` (its 0.2 name).

Recording a KPI needs no store, so the module lives in the workflow layer;
``from pysetl.workflow import kpi`` works without the ``monitoring`` extra.

Added in 0.2. Changed in 0.3: an alias of ``pysetl.workflow.kpi``.
"""

from __future__ import annotations

from pysetl.workflow.kpi import (
    EVENT,
    KINDS,
    Counter,
    Gauge,
    Histogram,
    counter,
    gauge,
    histogram,
)

__all__ = [
    "EVENT",
    "KINDS",
    "Counter",
    "Gauge",
    "Histogram",
    "counter",
    "gauge",
    "histogram",
]
