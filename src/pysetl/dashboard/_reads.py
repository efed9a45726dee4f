"""What each API route reads from the run history, as JSON-ready payloads.

Every read is paged or bounded: a run's attempts and metrics are read in
pages of ``MAX_LIMIT`` rows, at most ``MAX_PAGES`` pages; lists across runs
read one page of runs and then only those runs' rows.

Added in 0.3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pysetl.dashboard._convert import (
    attempt_metrics,
    clean,
    factory_metrics,
    factory_out,
    page_out,
    run_out,
    stage_out,
)
from pysetl.monitoring.history import MAX_LIMIT, RUN_START_EVENT, RunStatus
from pysetl.monitoring.metrics import SPARK_PROGRESS_EVENT
from pysetl.utils.redaction import redact_text

if TYPE_CHECKING:
    from collections.abc import Callable

    from pysetl.monitoring.history import BaseRunHistory
    from pysetl.monitoring.history.records import (
        FactoryAttemptRecord,
        MetricTotal,
        Page,
        RunRecord,
    )

__all__ = [
    "MAX_PAGES",
    "MetricsSeen",
    "all_rows",
    "factory_charts",
    "graph_of",
    "pipeline_charts",
    "run_detail",
    "runs_page",
    "spark_of",
]

MAX_PAGES = 20
"""At most this many pages of a run's attempts or metrics are read."""

_CPU = "pysetl_factory_cpu_seconds"
_RSS = "pysetl_factory_peak_rss_bytes"
_ROWS_IN = "pysetl_factory_spark_input_records"
_ROWS_OUT = "pysetl_factory_spark_output_records"
_ROWS = "pysetl_factory_rows"
_OURS = ("pysetl_", "factory_duration_seconds")
_FAILED = frozenset({RunStatus.FAILED, RunStatus.CRASHED})


def all_rows(
    fetch: Callable[..., Page[Any]],
    *args: Any,
    cursor: str | None = None,
    **kwargs: Any,
) -> list[Any]:
    """Every row of an id-paged query after ``cursor``, at most ``MAX_PAGES`` pages."""
    rows: list[Any] = []
    for _ in range(MAX_PAGES):
        page = fetch(*args, limit=MAX_LIMIT, cursor=cursor, **kwargs)
        rows.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return rows


def runs_page(history: BaseRunHistory, **query: Any) -> dict[str, Any]:
    """One page of runs with their factory counts."""
    page = history.list_runs(**query)
    counts = history.factory_counts([r.run_id for r in page.items])
    return page_out(page, lambda run: run_out(run, counts[run.run_id]))


def graph_of(
    history: BaseRunHistory, run_id: str, attempts: list[FactoryAttemptRecord]
) -> dict[str, Any]:
    """The graph recorded at run start, else the factories that started."""
    event = history.latest_event(run_id, RUN_START_EVENT)
    graph = None if event is None else event.data.get("graph")
    if isinstance(graph, dict):
        data = clean(graph)
        return {"nodes": data.get("nodes", []), "edges": data.get("edges", [])}
    nodes: dict[str, int] = {}
    for attempt in attempts:
        nodes.setdefault(redact_text(attempt.factory), attempt.stage_id)
    return {
        "nodes": [{"id": name, "stage_id": stage} for name, stage in nodes.items()],
        "edges": [],
    }


@dataclass
class MetricsSeen:
    """The metrics of a run read so far, to read only the new ones next time."""

    last_id: int | None = None
    by_factory: dict[str, dict[str, float]] = field(default_factory=dict)
    # (factory, attempt) -> metrics: each attempt's row shows its own.
    by_attempt: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)

    def read(self, history: BaseRunHistory, run_id: str) -> None:
        """Add the metrics recorded since the last read."""
        cursor = None if self.last_id is None else str(self.last_id)
        rows = all_rows(history.list_metrics, run_id, cursor=cursor)
        for factory, values in factory_metrics(rows).items():
            self.by_factory.setdefault(factory, {}).update(values)
        for key, values in attempt_metrics(rows).items():
            self.by_attempt.setdefault(key, {}).update(values)
        if rows:
            self.last_id = rows[-1].id


def run_state(
    history: BaseRunHistory, run: RunRecord, metrics: MetricsSeen | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]], list[FactoryAttemptRecord]]:
    """A run's ``RunOut``, its ``FactoryOut`` list and the raw attempts.

    Args:
        history: The store.
        run: The run.
        metrics: The metrics read by an earlier call, to read only new ones.
    """
    attempts = all_rows(history.list_factory_attempts, run.run_id)
    seen = MetricsSeen() if metrics is None else metrics
    seen.read(history, run.run_id)
    factories = [
        factory_out(a, seen.by_attempt.get((a.factory, a.attempt))) for a in attempts
    ]
    counts = history.factory_counts([run.run_id])[run.run_id]
    return run_out(run, counts), factories, attempts


def run_detail(history: BaseRunHistory, run_id: str) -> dict[str, Any] | None:
    """A ``RunDetail`` payload, or ``None`` for an unknown run."""
    run = history.find_run(run_id)
    if run is None:
        return None
    run_payload, factories, attempts = run_state(history, run)
    stages = all_rows(history.list_stage_runs, run_id)
    counts = run_payload["factories"]
    return {
        "run": run_payload,
        "stages": [stage_out(s) for s in stages],
        "factories": factories,
        "graph": graph_of(history, run_id, attempts),
        "progress": {
            "done": counts["succeeded"] + counts["failed"],
            "total": counts["total"],
        },
    }


def spark_of(history: BaseRunHistory, run: RunRecord) -> dict[str, Any]:
    """The last Spark progress sample of a running run (no jobs once it ended)."""
    event = history.latest_event(run.run_id, SPARK_PROGRESS_EVENT)
    if event is None or run.status != RunStatus.RUNNING:
        return {"jobs": [], "sampled_at": None if event is None else event.ts}
    data = clean(dict(event.data))
    return {"jobs": list(data.get("jobs", [])), "sampled_at": event.ts}


def _totals(found: list[MetricTotal]) -> dict[str, dict[str, MetricTotal]]:
    by_run: dict[str, dict[str, MetricTotal]] = {}
    for total in found:
        by_run.setdefault(total.run_id, {})[total.name] = total
    return by_run


def _sum(metrics: dict[str, MetricTotal], *names: str) -> float | None:
    for name in names:
        if name in metrics:
            return metrics[name].total
    return None


def pipeline_charts(
    history: BaseRunHistory, pipeline: str, limit: int
) -> dict[str, Any]:
    """A ``PipelineCharts`` payload over the pipeline's last ``limit`` runs."""
    runs = list(history.list_runs(pipeline=pipeline, limit=limit).items)[::-1]
    ids = [r.run_id for r in runs]
    by_run = _totals(history.metric_totals(ids))
    runs_out = []
    for run in runs:
        metrics = by_run.get(run.run_id, {})
        rss = metrics.get(_RSS)
        runs_out.append(
            {
                "run_id": run.run_id,
                "started_at": run.started_at,
                "status": run.status,
                "duration": run.duration,
                "cpu_seconds": _sum(metrics, _CPU),
                "rss_peak_bytes": None if rss is None else rss.peak,
                "rows_in": _sum(metrics, _ROWS_IN),
                "rows_out": _sum(metrics, _ROWS_OUT, _ROWS),
            }
        )
    factories: dict[str, list[dict[str, Any]]] = {}
    for attempt in _latest_attempts(history, ids):
        factories.setdefault(redact_text(attempt.factory), []).append(
            {
                "run_id": attempt.run_id,
                "duration": attempt.duration,
                "status": attempt.status,
            }
        )
    kpis: dict[str, list[dict[str, Any]]] = {}
    for run_id in ids:
        for name, total in by_run.get(run_id, {}).items():
            if not name.startswith(_OURS):
                kpis.setdefault(redact_text(name), []).append(
                    {"run_id": run_id, "value": total.total}
                )
    finished = [r for r in runs if r.status != RunStatus.RUNNING]
    failed = sum(1 for r in finished if r.status in _FAILED)
    return {
        "runs": runs_out,
        "factories": factories,
        "failure_rate": failed / len(finished) if finished else 0.0,
        "kpis": kpis,
    }


def _latest_attempts(history: BaseRunHistory, ids: list[str]) -> list[Any]:
    """The latest attempt of each factory of each run, in the order of ``ids``.

    Runs of a pipeline can overlap, so attempts in start order are not in
    run order; a chart's points must be (``ids`` is oldest run first).
    """
    latest: dict[tuple[str, str], Any] = {}
    for attempt in history.attempt_summaries(ids):
        key = (attempt.run_id, attempt.factory)
        known = latest.get(key)
        if known is None or attempt.attempt >= known.attempt:
            latest[key] = attempt
    order = {run_id: n for n, run_id in enumerate(ids)}
    return sorted(latest.values(), key=lambda a: order[a.run_id])


def factory_charts(
    history: BaseRunHistory, pipeline: str, factory: str, limit: int
) -> dict[str, Any]:
    """A ``FactoryCharts`` payload: one factory over the pipeline's last runs.

    Each point holds the factory's latest attempt in that run and its
    metrics summed over the run's attempts.
    """
    runs = list(history.list_runs(pipeline=pipeline, limit=limit).items)[::-1]
    started = {r.run_id: r.started_at for r in runs}
    by_run: dict[str, dict[str, float]] = {}
    for total in history.metric_totals(list(started), factory=factory):
        by_run.setdefault(total.run_id, {})[redact_text(total.name)] = total.total
    points = [
        {
            "run_id": a.run_id,
            "started_at": started[a.run_id],
            "status": a.status,
            "duration": a.duration,
            "metrics": by_run.get(a.run_id, {}),
        }
        for a in _latest_attempts(history, list(started))
        if a.factory == factory
    ]
    return {"factory": redact_text(factory), "points": points}
