"""The JSON API's response models (documented in ``/openapi.json``).

Times are seconds since the epoch (floats). Every string in these models
comes from the run history and went through the redaction point
(``pysetl.dashboard._convert``) before it is put here.

Added in 0.3.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "AlertDetail",
    "AlertEventOut",
    "AlertOut",
    "AlertPage",
    "ChartFactoryPoint",
    "ChartRun",
    "ErrorBody",
    "ErrorDayOut",
    "ErrorGroupOut",
    "ErrorGroupsOut",
    "ErrorOut",
    "EventOut",
    "EventPage",
    "FactoryChartPoint",
    "FactoryCharts",
    "FactoryCountsOut",
    "FactoryOut",
    "Graph",
    "GraphEdge",
    "GraphNode",
    "Health",
    "KpiPoint",
    "LogOut",
    "LogPage",
    "PipelineCharts",
    "PipelineOut",
    "PipelinesOut",
    "Progress",
    "RunDetail",
    "RunOut",
    "RunPage",
    "SparkJobOut",
    "SparkOut",
    "StageOut",
]


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx answer of the API."""

    error: str = Field(description="A short code: not_found, invalid_parameter...")
    message: str
    hint: str | None = None


class Health(BaseModel):
    """Whether the history can be read; which pysetl and which history it serves."""

    status: str = Field(description="ok, or unhealthy (answered with a 503)")
    version: str
    history: str = Field(description="The history's URL, password redacted")
    problem: str | None = Field(
        default=None, description="Why the history cannot be read (unhealthy)"
    )
    hint: str | None = Field(default=None, description="What to do about it")


class ErrorOut(BaseModel):
    """A failure of a run, stage or factory with its context and hint."""

    type: str
    message: str
    hint: str | None = None
    factory: str | None = None
    stage: int | None = None
    phase: str | None = None
    attempt: int | None = None
    error_class: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)


class FactoryCountsOut(BaseModel):
    """How many factories a run has and how many are in each state."""

    total: int
    succeeded: int
    failed: int
    running: int


class RunOut(BaseModel):
    """One run."""

    run_id: str
    pipeline: str
    status: str
    started_at: float
    finished_at: float | None = None
    duration: float | None = None
    heartbeat_at: float | None = None
    stale: bool = Field(
        default=False,
        description="Running, but no heartbeat for a minute: its process "
        "probably died (the history marks it crashed at the next reconcile)",
    )
    host: str | None = None
    pid: int | None = None
    config_version: str | None = None
    resumed_from: str | None = Field(
        default=None,
        description="The failed run this one resumed (pysetl run --resume)",
    )
    error: ErrorOut | None = None
    factories: FactoryCountsOut


class RunPage(BaseModel):
    """One page of runs, newest first."""

    items: list[RunOut]
    next_cursor: str | None = None


class PipelineOut(BaseModel):
    """One pipeline of the history with its latest run."""

    pipeline: str
    runs: int
    last_run_id: str
    last_status: str
    last_started_at: float


class PipelinesOut(BaseModel):
    """Every pipeline of the history, by name."""

    items: list[PipelineOut]


class StageOut(BaseModel):
    """One stage of a run."""

    stage_id: int
    status: str
    started_at: float | None = None
    finished_at: float | None = None
    duration: float | None = None
    error: ErrorOut | None = None


class FactoryOut(BaseModel):
    """One attempt of one factory of a run (the last one shown is the latest)."""

    factory: str
    stage_id: int
    attempt: int
    status: str
    started_at: float | None = None
    finished_at: float | None = None
    duration: float | None = None
    phase: str | None = Field(None, description="The phase that failed")
    phases: dict[str, float] = Field(default_factory=dict)
    error: ErrorOut | None = None
    metrics: dict[str, float] = Field(default_factory=dict)


class GraphNode(BaseModel):
    """A factory of the pipeline."""

    id: str
    stage_id: int


class GraphEdge(BaseModel):
    """A delivery from a producer factory to a consumer factory."""

    source: str
    target: str
    delivery: str


class Graph(BaseModel):
    """The pipeline's graph as recorded at run start."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]


class Progress(BaseModel):
    """Finished factories out of all."""

    done: int
    total: int


class RunDetail(BaseModel):
    """A run with its stages, factory attempts, graph and progress."""

    run: RunOut
    stages: list[StageOut]
    factories: list[FactoryOut]
    graph: Graph
    progress: Progress


class LogOut(BaseModel):
    """One log line."""

    id: int
    ts: float
    level: str
    logger: str | None = None
    factory: str | None = None
    message: str
    truncated: bool = Field(
        default=False, description="The message was cut (a very long line)"
    )


class LogPage(BaseModel):
    """One page of log lines, oldest first."""

    items: list[LogOut]
    next_cursor: str | None = None


class EventOut(BaseModel):
    """One lifecycle event."""

    id: int
    ts: float
    name: str
    stage_id: int | None = None
    factory: str | None = None
    attempt: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class EventPage(BaseModel):
    """One page of events, oldest first."""

    items: list[EventOut]
    next_cursor: str | None = None


class SparkJobOut(BaseModel):
    """One Spark job of a factory running now."""

    factory: str
    job_id: int
    status: str
    num_tasks: int
    completed_tasks: int
    failed_tasks: int
    active_tasks: int = 0
    stages_total: int
    stages_done: int


class SparkOut(BaseModel):
    """The Spark jobs of the factories running now, as last sampled."""

    jobs: list[SparkJobOut]
    sampled_at: float | None = None


class ChartRun(BaseModel):
    """One run of a pipeline, as a point of the history charts."""

    run_id: str
    started_at: float
    status: str
    duration: float | None = None
    cpu_seconds: float | None = None
    rss_peak_bytes: float | None = None
    rows_in: float | None = None
    rows_out: float | None = None


class ChartFactoryPoint(BaseModel):
    """One factory's duration in one run."""

    run_id: str
    duration: float | None = None
    status: str


class KpiPoint(BaseModel):
    """A custom KPI's value in one run (summed over its factories)."""

    run_id: str
    value: float


class PipelineCharts(BaseModel):
    """A pipeline's last runs, oldest first, for charts."""

    runs: list[ChartRun]
    factories: dict[str, list[ChartFactoryPoint]]
    failure_rate: float
    kpis: dict[str, list[KpiPoint]]


class FactoryChartPoint(BaseModel):
    """One factory's figures in one run."""

    run_id: str
    started_at: float
    status: str
    duration: float | None = None
    metrics: dict[str, float] = Field(default_factory=dict)


class FactoryCharts(BaseModel):
    """One factory's figures over a pipeline's last runs, oldest first."""

    factory: str
    points: list[FactoryChartPoint]


class ErrorDayOut(BaseModel):
    """How many failures of an error group happened on one day (UTC).

    Added in 0.5.
    """

    day: str = Field(description="The day, as an ISO date (2026-12-03)")
    count: int


class ErrorGroupOut(BaseModel):
    """The failures of one fingerprint in the window (see ``pysetl errors``).

    Added in 0.5.
    """

    fingerprint: str
    error_class: str = Field(description="The Spark error class, else the cause's type")
    factory: str | None = Field(description="None: the runs' own failures")
    title: str = Field(description="The normalised message")
    count: int
    runs: int
    first_seen: float
    last_seen: float
    pipelines: list[str]
    trend: list[ErrorDayOut] = Field(description="Each day of the window, oldest first")
    last_run_id: str
    hint: str | None = None


class ErrorGroupsOut(BaseModel):
    """The error groups of a window, the latest failure first.

    Added in 0.5.
    """

    since: float = Field(description="The window's start")
    items: list[ErrorGroupOut]


class AlertOut(BaseModel):
    """One firing episode of an alert (see ``pysetl alerts list``).

    Added in 0.5.
    """

    id: int
    rule: str
    state: str = Field(description="firing, or resolved")
    severity: str
    summary: str
    description: str
    labels: dict[str, str] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)
    pipeline: str | None = None
    factory: str | None = None
    run_id: str | None = Field(default=None, description="The run that made it fire")
    started_at: float
    updated_at: float
    ended_at: float | None = None
    last_notified_at: float | None = None


class AlertPage(BaseModel):
    """One page of alerts, newest first.

    Added in 0.5.
    """

    items: list[AlertOut]
    next_cursor: str | None = None


class AlertEventOut(BaseModel):
    """One thing that happened to an alert.

    Added in 0.5.
    """

    id: int
    ts: float
    kind: str = Field(
        description="fired, notified, delivery_failed, silenced, rate_limited, resolved"
    )
    notifier: str | None = None
    run_id: str | None = None
    detail: str | None = Field(default=None, description="The (redacted) error")


class AlertDetail(AlertOut):
    """An alert with its events, oldest first.

    Added in 0.5.
    """

    events: list[AlertEventOut]
