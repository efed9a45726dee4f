"""``HistoryCollector``: the run history's figures as Prometheus metric families.

One function of the history feeds every way out: the Pushgateway push and the
textfile of ``PrometheusExporter``, and ``render_metrics()`` for a scraped
``/metrics``. Figures are read when Prometheus (or a push) asks for them, so
nothing is kept in memory and nothing is measured twice.

What is published, per pipeline (labels ``pipeline``, ``factory``,
``status``, ``phase`` and the users' KPI labels; never a run id):

* the latest finished run: ``pysetl_pipeline_last_run_status{status}`` (1 for
  its status, 0 for the others), ``..._last_run_duration_seconds``,
  ``..._last_run_timestamp_seconds`` (when it finished),
  ``..._last_run_factories{status}``;
* ``pysetl_pipeline_last_success_timestamp_seconds`` and
  ``..._last_failure_timestamp_seconds`` (failed or crashed);
* the run in progress: ``pysetl_pipeline_running`` (0 or 1),
  ``..._run_started_timestamp_seconds`` (of the latest run) and
  ``..._running_factories{status}``;
* each factory of the latest finished run: ``pysetl_factory_last_status``,
  ``pysetl_factory_attempts``, ``pysetl_factory_duration_seconds``,
  ``pysetl_factory_phase_duration_seconds{phase}`` and every figure the
  metrics collector stored (``pysetl_factory_cpu_seconds``,
  ``..._peak_rss_bytes``, ``..._rows``, ``..._spark_tasks``,
  ``..._spark_input_bytes``...: see ``METRIC_NAMES``);
* users' KPIs of that run as ``pysetl_kpi_<name>``: counters and gauges as
  gauges (a run's value), histograms as summaries (``_sum``, ``_count``).

Figures of one run are gauges: each run replaces them. Counting and rates
over runs are PromQL's job (``changes()``, ``quantile_over_time()``).

Added in 0.5.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

try:
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.metrics_core import Metric
except ImportError as exc:  # pragma: no cover - the extra is installed in tests
    _msg = (
        "pysetl.monitoring.prometheus needs prometheus_client: "
        "pip install 'pysetl[prometheus]'"
    )
    raise ImportError(_msg) from exc

from pysetl.monitoring.history import MAX_LIMIT, STATUSES, RunStatus
from pysetl.utils.redaction import redact_labels

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from pysetl.monitoring.history import (
        BaseRunHistory,
        FactoryAttemptRecord,
        MetricRecord,
        RunRecord,
    )

__all__ = [
    "FINISHED_STATUSES",
    "KPI_PREFIX",
    "MAX_METRIC_ROWS",
    "HistoryCollector",
    "collect_from_history",
    "render_metrics",
]

FINISHED_STATUSES: tuple[str, ...] = tuple(
    s for s in STATUSES if s != RunStatus.RUNNING
)
"""The statuses of a finished run (``succeeded``, ``failed``, ``crashed``)."""

KPI_PREFIX = "pysetl_kpi_"
"""Users' KPIs are published under this prefix (their own namespace)."""

MAX_METRIC_ROWS = 20 * MAX_LIMIT
"""At most this many metric rows of a run are read (a bound on one collect)."""

_FACTORY_PREFIX = "pysetl_factory_"
_INVALID = re.compile(r"[^a-zA-Z0-9_:]")
_RESERVED = frozenset({"pipeline", "factory", "run_id", "kind", "job", "instance"})

_HELP = {
    "pysetl_pipeline_last_run_status": (
        "Status of the pipeline's latest finished run (1 for its status, 0 else)."
    ),
    "pysetl_pipeline_last_run_duration_seconds": (
        "Wall time of the pipeline's latest finished run."
    ),
    "pysetl_pipeline_last_run_timestamp_seconds": (
        "When the pipeline's latest finished run finished (Unix time)."
    ),
    "pysetl_pipeline_last_run_factories": (
        "Factories of the pipeline's latest finished run, by their status."
    ),
    "pysetl_pipeline_last_success_timestamp_seconds": (
        "When the pipeline's latest successful run finished (Unix time)."
    ),
    "pysetl_pipeline_last_failure_timestamp_seconds": (
        "When the pipeline's latest failed or crashed run finished (Unix time)."
    ),
    "pysetl_pipeline_running": "Whether the pipeline's latest run is running (0/1).",
    "pysetl_pipeline_run_started_timestamp_seconds": (
        "When the pipeline's latest run started (Unix time)."
    ),
    "pysetl_pipeline_running_factories": (
        "Factories of the pipeline's running run, by their status."
    ),
    "pysetl_factory_last_status": (
        "Status of the factory's latest attempt in the latest finished run (0/1)."
    ),
    "pysetl_factory_attempts": "Attempts of the factory in the latest finished run.",
    "pysetl_factory_duration_seconds": (
        "Wall time of the factory's latest attempt in the latest finished run."
    ),
    "pysetl_factory_phase_duration_seconds": (
        "Wall time of each phase of the factory's latest attempt."
    ),
}


class HistoryCollector:
    """A Prometheus collector reading a run history at each collection.

    Args:
        history: The run history to read (only read, through its public API).
        pipelines: Only these pipelines (default: every pipeline of the
            history, at most ``MAX_LIMIT``).

    Example:
        ```python
        registry = CollectorRegistry()
        registry.register(HistoryCollector(history, pipelines=["daily"]))
        push_to_gateway(url, job="pysetl", registry=registry)
        ```

    Added in 0.5.
    """

    def __init__(
        self, history: BaseRunHistory, *, pipelines: Sequence[str] | None = None
    ) -> None:
        """Remember the history and the pipelines; nothing is read yet."""
        self.history = history
        self.pipelines = None if pipelines is None else tuple(pipelines)

    def describe(self) -> list[Metric]:
        """Nothing: the families depend on the history, so none is declared."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The metric families of the pipelines, read from the history now.

        Raises:
            RunHistoryError: The history cannot be read.
        """
        families: dict[str, Metric] = {}
        names = self.pipelines
        if names is None:
            names = tuple(p.pipeline for p in self.history.list_pipelines())
        for pipeline in names:
            _Pipeline(self.history, pipeline, families).add()
        yield from families.values()


class _Pipeline:
    """The samples of one pipeline, added to shared families."""

    def __init__(
        self, history: BaseRunHistory, pipeline: str, families: dict[str, Metric]
    ) -> None:
        self.history = history
        self.pipeline = pipeline
        self.families = families

    def sample(
        self,
        name: str,
        value: float,
        labels: dict[str, str] | None = None,
        *,
        typ: str = "gauge",
        suffix: str = "",
        documentation: str | None = None,
    ) -> None:
        family = self.families.get(name)
        if family is None:
            doc = documentation or _HELP.get(name) or _doc_of(name)
            family = self.families[name] = Metric(name, doc, typ)
        elif family.type != typ:  # a KPI of two kinds: the first one wins
            return
        family.add_sample(
            name + suffix, {"pipeline": self.pipeline, **(labels or {})}, value
        )

    def add(self) -> None:
        found = self.history.latest_runs(self.pipeline, [None, *FINISHED_STATUSES])
        newest = found[None]
        if newest is None:
            return
        finished = {s: found[s] for s in FINISHED_STATUSES}
        last = max(
            (r for r in finished.values() if r is not None),
            key=lambda r: r.started_at,
            default=None,
        )
        running = newest.status == RunStatus.RUNNING
        self.sample("pysetl_pipeline_running", int(running))
        self.sample("pysetl_pipeline_run_started_timestamp_seconds", newest.started_at)
        if running:
            counts = self.history.factory_counts([newest.run_id])[newest.run_id]
            for status in ("succeeded", "failed", "running"):
                self.sample(
                    "pysetl_pipeline_running_factories",
                    getattr(counts, status),
                    {"status": status},
                )
        success = finished["succeeded"]
        if success is not None and success.finished_at is not None:
            self.sample(
                "pysetl_pipeline_last_success_timestamp_seconds", success.finished_at
            )
        failures = [
            r.finished_at
            for r in (finished["failed"], finished["crashed"])
            if r is not None and r.finished_at is not None
        ]
        if failures:
            self.sample("pysetl_pipeline_last_failure_timestamp_seconds", max(failures))
        if last is not None:
            self.add_run(last)

    def add_run(self, run: RunRecord) -> None:
        for status in FINISHED_STATUSES:
            self.sample(
                "pysetl_pipeline_last_run_status",
                int(run.status == status),
                {"status": status},
            )
        if run.duration is not None:
            self.sample("pysetl_pipeline_last_run_duration_seconds", run.duration)
        if run.finished_at is not None:
            self.sample("pysetl_pipeline_last_run_timestamp_seconds", run.finished_at)
        # A factory counts once, with its latest attempt's status, as in
        # ``factory_counts`` (counted here from the attempts read anyway).
        latest: dict[str, FactoryAttemptRecord] = {}
        tries: dict[str, int] = {}
        for attempt in _pages_of_attempts(self.history, run.run_id):
            latest[attempt.factory] = attempt
            tries[attempt.factory] = tries.get(attempt.factory, 0) + 1
        statuses = [attempt.status for attempt in latest.values()]
        failed = statuses.count(RunStatus.FAILED) + statuses.count(RunStatus.CRASHED)
        for status, count in (
            ("succeeded", statuses.count(RunStatus.SUCCEEDED)),
            ("failed", failed),
        ):
            self.sample("pysetl_pipeline_last_run_factories", count, {"status": status})
        self.add_attempts(latest, tries)
        self.add_metrics(_pages_of_metrics(self.history, run.run_id))

    def add_attempts(
        self, latest: dict[str, FactoryAttemptRecord], tries: dict[str, int]
    ) -> None:
        for factory, attempt in latest.items():
            labels = {"factory": factory}
            for status in FINISHED_STATUSES:
                self.sample(
                    "pysetl_factory_last_status",
                    int(attempt.status == status),
                    labels | {"status": status},
                )
            self.sample("pysetl_factory_attempts", tries[factory], labels)
            if attempt.duration is not None:
                self.sample("pysetl_factory_duration_seconds", attempt.duration, labels)
            for phase, seconds in attempt.phases.items():
                self.sample(
                    "pysetl_factory_phase_duration_seconds",
                    seconds,
                    labels | {"phase": phase},
                )

    def add_metrics(self, rows: Iterable[MetricRecord]) -> None:
        # The latest value of each series wins (a retried factory's last try).
        series: dict[tuple[str, str, tuple[tuple[str, str], ...]], MetricRecord] = {}
        for row in rows:
            if row.factory is None:  # run-level rows repeat the run's own figures
                continue
            key = (row.name, row.factory, tuple(sorted(row.labels.items())))
            series[key] = row
        for (name, factory, _), row in series.items():
            kind = row.labels.get("kind")
            # Names starting with "__" are Prometheus's own; others that are
            # not valid names are escaped by the exposition (a-b becomes a_b).
            user = {
                k: v
                for k, v in row.labels.items()
                if k not in _RESERVED and not k.startswith("__")
            }
            labels = {"factory": factory, **redact_labels(user)}
            if name.startswith(_FACTORY_PREFIX) and kind is None:
                self.sample(_clean(name), row.value, labels)
            elif kind == "histogram":
                base, suffix = (
                    (name[:-6], "_count") if name.endswith("_count") else (name, "_sum")
                )
                metric = KPI_PREFIX + _clean(base)
                self.sample(
                    metric,
                    row.value,
                    labels,
                    typ="summary",
                    suffix=suffix,
                    documentation=f"The user's KPI {base!r} (a histogram).",
                )
            elif kind is not None:
                self.sample(
                    KPI_PREFIX + _clean(name),
                    row.value,
                    labels,
                    documentation=f"The user's KPI {name!r} ({kind}) of the run.",
                )


def _pages_of_attempts(
    history: BaseRunHistory, run_id: str
) -> Iterator[FactoryAttemptRecord]:
    cursor: str | None = None
    while True:
        page = history.list_factory_attempts(run_id, limit=MAX_LIMIT, cursor=cursor)
        yield from page.items
        cursor = page.next_cursor
        if cursor is None:
            return


def _pages_of_metrics(history: BaseRunHistory, run_id: str) -> Iterator[MetricRecord]:
    cursor: str | None = None
    read = 0
    while read < MAX_METRIC_ROWS:
        page = history.list_metrics(run_id, limit=MAX_LIMIT, cursor=cursor)
        yield from page.items
        read += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return


def _clean(name: str) -> str:
    """A valid Prometheus metric name (other characters become ``_``)."""
    return _INVALID.sub("_", name)


def _doc_of(name: str) -> str:
    figure = name.removeprefix(_FACTORY_PREFIX).replace("_", " ")
    return f"The factory's {figure} in its latest attempt of the latest finished run."


def collect_from_history(
    history: BaseRunHistory,
    registry: CollectorRegistry,
    *,
    pipelines: Sequence[str] | None = None,
) -> HistoryCollector:
    """Register a ``HistoryCollector`` of ``history`` on ``registry``; return it.

    Args:
        history: The run history to read at each collection.
        registry: Where to register it (never the global one in tests).
        pipelines: Only these pipelines (default: all of them).

    Added in 0.5.
    """
    collector = HistoryCollector(history, pipelines=pipelines)
    registry.register(collector)
    return collector


def render_metrics(
    history: BaseRunHistory, *, pipelines: Sequence[str] | None = None
) -> bytes:
    """The history's figures in Prometheus's text format, for a scraped ``/metrics``.

    Serve it with the content type ``prometheus_client.CONTENT_TYPE_LATEST``.

    Args:
        history: The run history to read.
        pipelines: Only these pipelines (default: all of them).

    Raises:
        RunHistoryError: The history cannot be read.

    Added in 0.5.
    """
    registry = CollectorRegistry(auto_describe=False)
    collect_from_history(history, registry, pipelines=pipelines)
    return generate_latest(registry)
