"""``pysetl runs show`` prints each factory's Spark figures (a table per run)."""

from __future__ import annotations

import io

from rich.console import Console

from pysetl.cli import commands
from pysetl.monitoring.history import InMemoryRunHistory
from pysetl.monitoring.metrics import FactoryMetrics, SparkFigures


def record(history, metrics: FactoryMetrics) -> None:
    """What the metrics collector writes for one factory attempt."""
    for name, value, labels in metrics.samples():
        history.record_metric(
            metrics.run_id, name, value, factory=metrics.factory, labels=labels
        )


def attempt(factory: str, spark: SparkFigures | None) -> FactoryMetrics:
    return FactoryMetrics(
        run_id="01R",
        pipeline="tpch",
        stage_id=0,
        factory=factory,
        attempt=1,
        status="succeeded",
        duration_seconds=1.5,
        phases={"read": 1.0, "process": 0.5},
        cpu_seconds=0.25,
        spark=spark,
    )


def shown(history) -> str:
    out = io.StringIO()
    commands.show_run(history, "01R", console=Console(file=out, width=200))
    return out.getvalue()


def test_each_factory_s_figures_and_tasks_per_executor():
    history = InMemoryRunHistory()
    history.start_run("01R", "tpch")
    spark = SparkFigures(
        jobs=3,
        stages=4,
        tasks=21,
        input_records=60_175,
        output_records=125,
        executor_cpu_seconds=2.5,
        jvm_gc_seconds=0.125,
        peak_execution_memory_bytes=3 * 1024 * 1024,
        executor_tasks=(("1", 9), ("0", 12)),
    )
    record(history, attempt("SegmentRevenue", spark))
    record(history, attempt("Plain", None))  # no Spark job: not in the table
    text = shown(history)
    table = text[text.index("Spark figures") :]
    (line,) = [ln for ln in table.splitlines() if "SegmentRevenue" in ln]
    assert line.split() == [
        "SegmentRevenue",
        "3",
        "21",
        "2.50",
        "s",
        "0.12",
        "s",
        "3.0",
        "MiB",
        "60,175",
        "125",
        "0:12",
        "1:9",
    ]
    assert "Plain" not in table


def test_a_run_without_spark_figures_has_no_table():
    history = InMemoryRunHistory()
    history.start_run("01R", "tpch")
    record(history, attempt("Plain", None))
    assert "Spark figures" not in shown(history)
