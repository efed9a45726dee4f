"""The values a ``MetricsCollector`` produces: per factory attempt, and per run.

Every figure has a unit in its name (``_seconds``, ``_bytes``) or is a count.
``METRIC_NAMES`` lists the names under which they are written to the run
history; they follow Prometheus conventions so that the exporter can publish
them unchanged (``pysetl_factory_duration_seconds{pipeline,stage,factory}``).

Added in 0.2.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

__all__ = [
    "METRIC_NAMES",
    "FactoryMetrics",
    "KpiValue",
    "ProfileLine",
    "RunSummary",
    "SparkFigures",
    "figure_samples",
]

_PREFIX = "pysetl_factory_"
_PEAKS = frozenset({"peak_execution_memory_bytes"})


@dataclass(frozen=True, slots=True)
class SparkFigures:
    """What the Spark jobs of one factory attempt did, summed over its stages.

    Attributed through the factory's job group (``pysetl:<run id>:<factory>``),
    read from the driver's status store (the data behind Spark's REST API).

    Attributes:
        jobs: Spark jobs the factory triggered.
        failed_jobs: Those that failed.
        stages: Stages of those jobs that ran (skipped stages are not counted).
        tasks: Tasks of those stages.
        failed_tasks: Task attempts that failed.
        input_records: Records read from storage.
        input_bytes: Bytes read from storage.
        output_records: Records written to storage.
        output_bytes: Bytes written to storage.
        shuffle_read_bytes: Shuffle bytes read (local and remote).
        shuffle_write_bytes: Shuffle bytes written.
        memory_spilled_bytes: Bytes spilled, as they were in memory.
        disk_spilled_bytes: Bytes spilled, as written to disk.
        executor_run_seconds: Task run time summed over tasks.
        executor_cpu_seconds: Task CPU time summed over tasks.
        jvm_gc_seconds: JVM garbage collection time summed over tasks.
        peak_execution_memory_bytes: The largest peak execution memory
            (shuffles, joins, aggregations) of any one task.
        executor_tasks: Task attempts per executor id, sorted by id
            (``"driver"`` in local mode); written as
            ``pysetl_factory_spark_executor_tasks{executor=ID}``. Added in 0.6.
        complete: ``False`` when the lookups hit their bound (``max_jobs`` or
            the wait for Spark's listener bus), so figures may be short.
    """

    jobs: int = 0
    failed_jobs: int = 0
    stages: int = 0
    tasks: int = 0
    failed_tasks: int = 0
    input_records: int = 0
    input_bytes: int = 0
    output_records: int = 0
    output_bytes: int = 0
    shuffle_read_bytes: int = 0
    shuffle_write_bytes: int = 0
    memory_spilled_bytes: int = 0
    disk_spilled_bytes: int = 0
    executor_run_seconds: float = 0.0
    executor_cpu_seconds: float = 0.0
    jvm_gc_seconds: float = 0.0
    peak_execution_memory_bytes: int = 0
    executor_tasks: tuple[tuple[str, int], ...] = ()
    complete: bool = True

    def items(self) -> Iterator[tuple[str, float]]:
        """The figures by name (``complete`` and ``executor_tasks`` excluded)."""
        for spec in fields(self):
            if spec.name not in _NOT_FIGURES:
                yield spec.name, getattr(self, spec.name)


_NOT_FIGURES = frozenset({"complete", "executor_tasks"})


@dataclass(frozen=True, slots=True)
class KpiValue:
    """One custom metric (``pysetl.monitoring.kpi``) of one factory attempt.

    Attributes:
        name: The metric's name.
        kind: ``counter``, ``gauge`` or ``histogram``.
        labels: The user's labels, sorted by key.
        value: The counter's total, the gauge's last value, or the sum of the
            histogram's observations.
        count: How many times it was recorded.
        minimum: The smallest value recorded.
        maximum: The largest value recorded.
    """

    name: str
    kind: str
    labels: tuple[tuple[str, str], ...]
    value: float
    count: int
    minimum: float
    maximum: float

    def add(self, value: float) -> KpiValue:
        """This value with one more recording of ``value``."""
        total = value if self.kind == "gauge" else self.value + value
        return KpiValue(
            self.name,
            self.kind,
            self.labels,
            total,
            self.count + 1,
            min(self.minimum, value),
            max(self.maximum, value),
        )


@dataclass(frozen=True, slots=True)
class ProfileLine:
    """One function of a factory's profile (``cProfile``).

    Attributes:
        function: ``file:line(name)``.
        calls: How many times it was called.
        own_seconds: Time in the function itself.
        cumulative_seconds: Time in the function and what it called.
    """

    function: str
    calls: int
    own_seconds: float
    cumulative_seconds: float


@dataclass(frozen=True, slots=True)
class FactoryMetrics:
    """Everything measured about one factory attempt.

    Attributes:
        run_id: The run's correlation id.
        pipeline: The pipeline's name.
        stage_id: The stage index.
        factory: The factory's name.
        attempt: The attempt number, starting at 1.
        status: ``succeeded`` or ``failed``.
        duration_seconds: Wall time from injection to the end of ``get()``.
        phases: Wall seconds per phase (``read``, ``process``, ``write``,
            ``get``; ``failed`` for the phase that raised).
        failed_phase: The phase that raised, or ``None``.
        cpu_seconds: CPU time of the factory's thread, or ``None`` when
            events were not delivered in that thread (see ``MetricsCollector``).
        peak_rss_bytes: The driver process's peak resident memory so far.
        rss_growth_bytes: How much that peak grew during the factory.
        python_peak_bytes: Peak Python allocations (profiled factories only).
        spark: The Spark figures, or ``None`` without Spark.
        rows: Output rows when counted (``count_rows``), else ``None``.
        kpis: The custom metrics recorded during the attempt.
        profile: The top functions when the factory was profiled.
        started_at: When the attempt started (``time.time()``).
    """

    run_id: str
    pipeline: str
    stage_id: int
    factory: str
    attempt: int
    status: str
    duration_seconds: float
    phases: Mapping[str, float]
    failed_phase: str | None = None
    cpu_seconds: float | None = None
    peak_rss_bytes: int | None = None
    rss_growth_bytes: int | None = None
    python_peak_bytes: int | None = None
    spark: SparkFigures | None = None
    rows: int | None = None
    kpis: tuple[KpiValue, ...] = ()
    profile: tuple[ProfileLine, ...] = ()
    started_at: float = 0.0

    def samples(
        self, *, durations: bool = True
    ) -> Iterator[tuple[str, float, dict[str, str]]]:
        """The figures as ``(metric name, value, extra labels)`` samples.

        Spark figures that are zero and a memory growth of zero are left out
        (absent means zero), which keeps the history small.

        Args:
            durations: Include the attempt's duration and phase durations
                (the run history has them on the attempt's row).
        """
        if durations:
            yield f"{_PREFIX}duration_seconds", self.duration_seconds, {}
            for phase, seconds in self.phases.items():
                yield f"{_PREFIX}phase_duration_seconds", seconds, {"phase": phase}
        yield from figure_samples(
            cpu_seconds=self.cpu_seconds,
            peak_rss_bytes=self.peak_rss_bytes,
            rss_growth_bytes=self.rss_growth_bytes,
            python_peak_bytes=self.python_peak_bytes,
            rows=self.rows,
            spark=self.spark,
            kpis=self.kpis,
        )


def figure_samples(
    *,
    cpu_seconds: float | None = None,
    peak_rss_bytes: int | None = None,
    rss_growth_bytes: int | None = None,
    python_peak_bytes: int | None = None,
    rows: int | None = None,
    spark: SparkFigures | None = None,
    kpis: Iterable[KpiValue] = (),
) -> Iterator[tuple[str, float, dict[str, str]]]:
    """The samples of an attempt's figures other than its durations.

    What ``FactoryMetrics.samples`` yields after the durations; the
    collector also writes them straight from its readings when it keeps no
    ``FactoryMetrics`` (see ``MetricsCollector``).
    """
    optional = (
        ("cpu_seconds", cpu_seconds),
        ("peak_rss_bytes", peak_rss_bytes),
        ("rss_growth_bytes", rss_growth_bytes),
        ("python_peak_bytes", python_peak_bytes),
        ("rows", rows),
    )
    for name, value in optional:
        if value is not None and (value or name != "rss_growth_bytes"):
            yield f"{_PREFIX}{name}", value, {}
    if spark is not None:
        for name, value in spark.items():
            if value or name == "jobs":
                yield f"{_PREFIX}spark_{name}", value, {}
        for executor, tasks in spark.executor_tasks:
            yield f"{_PREFIX}spark_executor_tasks", tasks, {"executor": executor}
    for kpi in kpis:
        labels = dict(kpi.labels) | {"kind": kpi.kind}
        yield kpi.name, kpi.value, labels
        if kpi.kind == "histogram":
            yield f"{kpi.name}_count", kpi.count, labels


METRIC_NAMES: tuple[str, ...] = (
    f"{_PREFIX}duration_seconds",
    f"{_PREFIX}phase_duration_seconds",
    f"{_PREFIX}cpu_seconds",
    f"{_PREFIX}peak_rss_bytes",
    f"{_PREFIX}rss_growth_bytes",
    f"{_PREFIX}python_peak_bytes",
    f"{_PREFIX}rows",
    *(
        f"{_PREFIX}spark_{spec.name}"
        for spec in fields(SparkFigures)
        if spec.name != "complete"
    ),
    "pysetl_run_duration_seconds",
)
"""The names of the built-in metrics in the run history (users' KPIs keep theirs)."""


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run's metrics: every factory attempt, the slowest ones, the totals.

    ``str(summary)`` renders a short table.

    Attributes:
        run_id: The run's correlation id.
        pipeline: The pipeline's name.
        status: ``succeeded``, ``failed`` or ``running`` (not finished yet).
        duration_seconds: The run's wall time, or ``None`` while it runs.
        factories: Every factory attempt, in the order they finished.
        top: How many entries the "slowest" lists hold.
    """

    run_id: str
    pipeline: str
    status: str
    duration_seconds: float | None
    factories: tuple[FactoryMetrics, ...] = ()
    top: int = 5

    @property
    def slowest_factories(self) -> tuple[FactoryMetrics, ...]:
        """The ``top`` slowest factory attempts, slowest first."""
        ranked = sorted(self.factories, key=lambda m: -m.duration_seconds)
        return tuple(ranked[: self.top])

    @property
    def slowest_phases(self) -> tuple[tuple[str, str, float], ...]:
        """The ``top`` slowest ``(factory, phase, seconds)``, slowest first."""
        phases = [
            (m.factory, phase, seconds)
            for m in self.factories
            for phase, seconds in m.phases.items()
        ]
        return tuple(sorted(phases, key=lambda p: -p[2])[: self.top])

    @property
    def totals(self) -> dict[str, float]:
        """Sums over the factory attempts; of a peak figure, the largest."""
        totals: dict[str, float] = {"factories": len(self.factories)}
        for metrics in self.factories:
            parts: list[tuple[str, float | None]] = [
                ("duration_seconds", metrics.duration_seconds),
                ("cpu_seconds", metrics.cpu_seconds),
            ]
            if metrics.spark is not None:
                parts.extend(metrics.spark.items())
            for name, value in parts:
                if value is None:
                    continue
                if name in _PEAKS:  # a peak of peaks, not a sum
                    totals[name] = max(totals.get(name, 0), value)
                else:
                    totals[name] = totals.get(name, 0) + value
        return totals

    @property
    def profile(self) -> tuple[str, tuple[ProfileLine, ...]] | None:
        """The slowest profiled factory and its top functions, if any was profiled."""
        profiled = [m for m in self.factories if m.profile]
        if not profiled:
            return None
        slowest = max(profiled, key=lambda m: m.duration_seconds)
        return slowest.factory, slowest.profile

    def __str__(self) -> str:
        """A short table: the run, its slowest factories and phases, totals."""
        took = "-" if self.duration_seconds is None else f"{self.duration_seconds:.3f}s"
        lines = [
            (
                f"run {self.run_id} ({self.pipeline}): {self.status} in {took}, "
                f"{len(self.factories)} factory attempts"
            ),
            "slowest factories:",
            (
                f"  {'factory':<32} {'stage':>5} {'wall s':>9} {'cpu s':>9} "
                f"{'jobs':>5} {'tasks':>6} {'in rec':>10} {'out rec':>10}"
            ),
        ]
        for m in self.slowest_factories:
            cpu = "-" if m.cpu_seconds is None else f"{m.cpu_seconds:.3f}"
            spark = m.spark or SparkFigures()
            lines.append(
                f"  {m.factory[:32]:<32} {m.stage_id:>5} {m.duration_seconds:>9.3f} "
                f"{cpu:>9} {spark.jobs:>5} {spark.tasks:>6} "
                f"{spark.input_records:>10} {spark.output_records:>10}"
            )
        lines.append("slowest phases:")
        lines.extend(
            f"  {factory[:32]:<32} {phase:<8} {seconds:>9.3f}s"
            for factory, phase, seconds in self.slowest_phases
        )
        profile = self.profile
        if profile is not None:
            lines.append(f"top functions of {profile[0]}:")
            lines.extend(
                f"  {line.cumulative_seconds:>9.3f}s {line.calls:>8} {line.function}"
                for line in profile[1][: self.top]
            )
        return "\n".join(lines)
