"""The "Spark figures" table of ``pysetl runs show``: each factory's Spark work.

Read from the run's metric rows (``pysetl_factory_spark_*``, written by the
metrics collector through each factory's job group): jobs, tasks, executor
CPU and JVM GC time, the largest task's peak execution memory, rows in and
out, and the task attempts per executor (``0:12 1:9`` on a cluster,
``driver:21`` in local mode). A factory's last attempt wins.

Added in 0.6.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.table import Table

if TYPE_CHECKING:
    from rich.console import Console

    from pysetl.monitoring.history import BaseRunHistory

__all__ = ["print_spark_figures", "spark_figures", "spark_table"]

_PREFIX = "pysetl_factory_spark_"
_EXECUTOR_TASKS = "executor_tasks"
_PAGE = 1000
_MAX_ROWS = 20_000  # a run's metric rows read at most (the table is a summary)
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


def spark_figures(
    history: BaseRunHistory, run_id: str
) -> dict[str, tuple[dict[str, float], dict[str, float]]]:
    """Per factory, in the order first recorded: its figures, its tasks per executor."""
    found: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
    cursor: str | None = None
    seen = 0
    while seen < _MAX_ROWS:
        page = history.list_metrics(run_id, limit=_PAGE, cursor=cursor)
        seen += len(page.items)
        for row in page.items:
            if row.factory is None or not row.name.startswith(_PREFIX):
                continue
            values, executors = found.setdefault(row.factory, ({}, {}))
            name = row.name.removeprefix(_PREFIX)
            if name == _EXECUTOR_TASKS:
                executors[str(row.labels.get("executor", "?"))] = row.value
            else:
                values[name] = row.value
        cursor = page.next_cursor
        if cursor is None:
            break
    return found


def spark_table(history: BaseRunHistory, run_id: str) -> Table | None:
    """The table, or ``None`` when the run recorded no Spark figure."""
    found = spark_figures(history, run_id)
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


def print_spark_figures(out: Console, history: BaseRunHistory, run_id: str) -> None:
    """Print the run's table on ``out`` (nothing when it has no Spark figure)."""
    table = spark_table(history, run_id)
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
