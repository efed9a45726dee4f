"""The "Spark figures" table of ``pysetl runs show``: each factory's Spark work.

The figures come from ``pysetl.monitoring.runs.spark_figures`` (the run's
``pysetl_factory_spark_*`` metric rows, written by the metrics collector
through each factory's job group; a factory's last attempt wins): jobs,
tasks, executor CPU and JVM GC time, the largest task's peak execution
memory, rows in and out, and the task attempts per executor (``0:12 1:9`` on
a cluster, ``driver:21`` in local mode). This module only lays them out.

Added in 0.6. Changed in 0.7: it renders what ``spark_figures`` read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.table import Table

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rich.console import Console

    from pysetl.monitoring.runs import FactoryFigures

__all__ = ["print_spark_figures", "spark_table"]

_KIB = 1024.0
_COLUMNS = (  # heading, figure
    ("jobs", "jobs"),
    ("tasks", "tasks"),
    ("cpu", "executor_cpu_seconds"),
    ("gc", "jvm_gc_seconds"),
    ("peak mem", "peak_execution_memory_bytes"),
    ("rows in", "input_records"),
    ("rows out", "output_records"),
)


def spark_table(found: Mapping[str, FactoryFigures]) -> Table | None:
    """The table, or ``None`` when the run recorded no Spark figure."""
    if not found:
        return None
    table = Table(title="Spark figures", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("factory", overflow="fold")
    for heading, _ in _COLUMNS:
        table.add_column(heading, justify="right", no_wrap=True)
    table.add_column("tasks per executor", overflow="fold")
    for factory, (values, executors) in found.items():
        cells = [_cell(name, values.get(name)) for _, name in _COLUMNS]
        spread = " ".join(
            f"{executor}:{int(tasks)}" for executor, tasks in sorted(executors.items())
        )
        table.add_row(factory, *cells, spread or "-")
    return table


def print_spark_figures(out: Console, found: Mapping[str, FactoryFigures]) -> None:
    """Print the run's table on ``out`` (nothing when it has no Spark figure)."""
    table = spark_table(found)
    if table is not None:
        out.print(table)


def _cell(name: str, value: float | None) -> str:
    if value is None:
        return "0" if name != "jobs" else "-"
    if name.endswith("_seconds"):
        return f"{value:.2f} s"
    if name.endswith("_bytes"):
        return _size(value)
    return f"{int(value):,}"


def _size(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < _KIB or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= _KIB
    return f"{value:.1f} GiB"  # pragma: no cover - the loop returns
