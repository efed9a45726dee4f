"""What the run history's queries return: frozen records, a page of them, statuses.

Every query of a ``BaseRunHistory`` returns these records (one ``Page`` of
them, or a list for the queries across runs; ``Page`` is
``pysetl.utils.paging.Page``, re-exported here); the write side, the
operations a store applies, is ``pysetl.monitoring.history.ops``. Times are
seconds since the epoch (``time.time()``), as floats. A status is a
``RunStatus``: a ``str`` whose value is what the store keeps and what the
CLI and the dashboard print (``"failed"``), so it compares equal to the
plain string and serialises as one; a value that is no status (a newer
version's) stays a plain string.

Added in 0.2 (as ``pysetl.monitoring.history._records``). Changed in 0.7:
public, split from the write operations; statuses are ``RunStatus``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pysetl.utils.paging import Page

__all__ = [
    "LEVELS",
    "STATUSES",
    "AttemptSummary",
    "EventRecord",
    "FactoryAttemptRecord",
    "FactoryCounts",
    "FailureRecord",
    "LogRecord",
    "MetricRecord",
    "MetricTotal",
    "Page",
    "PipelineSummary",
    "RunRecord",
    "RunStatus",
    "StageRecord",
    "level_number",
]


class RunStatus(str, Enum):
    """The status of a run, a stage or a factory attempt.

    A member is the ``str`` the store keeps: ``RunStatus.FAILED == "failed"``,
    ``str()``, ``format()`` and JSON give ``"failed"`` on every Python
    version (what ``enum.StrEnum`` does from Python 3.11).

    Added in 0.7 (a ``Literal`` of the same strings before).
    """

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CRASHED = "crashed"

    def __str__(self) -> str:
        """The stored value (``"failed"``), not ``RunStatus.FAILED``."""
        return str(self.value)

    def __format__(self, format_spec: str) -> str:
        """Format the stored value, as a plain ``str`` would be."""
        return format(str(self.value), format_spec)


STATUSES: tuple[str, ...] = tuple(status.value for status in RunStatus)
"""Every status a run, a stage or a factory attempt can have (plain strings)."""

_BY_VALUE: dict[str, RunStatus] = {status.value: status for status in RunStatus}

LEVELS: dict[str, int] = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
}
"""Level names and numbers; ``search_logs(level=)`` keeps that level and up."""


def level_number(level: str | int) -> int:
    """The number of a level given by name (any case) or number.

    Unknown names count as ``INFO`` so that a foreign logger's custom level
    is still stored and found.
    """
    if isinstance(level, int):
        return level
    return LEVELS.get(level.upper(), logging.INFO)


def _status_field(record: Any, name: str) -> None:
    """Turn a frozen record's status string into its ``RunStatus``.

    A value that is no status (a newer version's, read from a shared store)
    is kept as its string: reads never fail on it, as before 0.7.
    """
    value = getattr(record, name)
    if type(value) is not RunStatus:
        status = _BY_VALUE.get(value)
        if status is not None:
            object.__setattr__(record, name, status)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One pipeline run.

    Attributes:
        run_id: The run's id (a ULID: sorting ids sorts runs by start time).
        pipeline: The pipeline's name.
        status: ``running``, ``succeeded``, ``failed`` or ``crashed``.
        started_at: When the run started.
        finished_at: When it finished (or was last seen alive, if crashed).
        heartbeat_at: When its process last said it was alive.
        pid: The process id of the run.
        host: The host name of the run.
        config_version: The hash of the resolved config used, when known.
        error: The failure's whole context (``error_to_dict``), when failed.
        resumed_from: The run this one resumed (``pysetl run --resume``), if
            any. Added in 0.6.
    """

    run_id: str
    pipeline: str
    status: RunStatus
    started_at: float
    finished_at: float | None = None
    heartbeat_at: float | None = None
    pid: int | None = None
    host: str | None = None
    config_version: str | None = None
    error: dict[str, Any] | None = None
    resumed_from: str | None = None

    def __post_init__(self) -> None:
        """Hold the status as a ``RunStatus``."""
        _status_field(self, "status")

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, or ``None`` while running."""
        if self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclass(frozen=True, slots=True)
class StageRecord:
    """One stage of a run."""

    run_id: str
    stage_id: int
    status: RunStatus
    started_at: float | None
    finished_at: float | None = None
    duration: float | None = None
    error: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        """Hold the status as a ``RunStatus``."""
        _status_field(self, "status")


@dataclass(frozen=True, slots=True)
class FactoryAttemptRecord:
    """One attempt of one factory of a run.

    Attributes:
        phases: Seconds spent in ``read``, ``process``, ``write`` and ``get``.
        phase: The phase that failed, when failed.
    """

    id: int
    run_id: str
    stage_id: int
    factory: str
    attempt: int
    status: RunStatus
    started_at: float | None
    finished_at: float | None = None
    duration: float | None = None
    phases: dict[str, float] = field(default_factory=dict)
    phase: str | None = None
    error: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        """Hold the status as a ``RunStatus``."""
        _status_field(self, "status")


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One lifecycle event (``before_factory_run``...) of a run."""

    id: int
    run_id: str
    ts: float
    name: str
    stage_id: int | None = None
    factory: str | None = None
    attempt: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MetricRecord:
    """One measured value of a run, optionally of one factory."""

    id: int
    run_id: str
    name: str
    value: float
    ts: float
    factory: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One log line, with the run and factory it belongs to."""

    id: int
    ts: float
    level: str
    message: str
    run_id: str | None = None
    factory: str | None = None
    logger: str | None = None


# ------------------------------------------------- reads across runs (0.3)
@dataclass(frozen=True, slots=True)
class AttemptSummary:
    """One factory attempt without its error and phases (queries over many runs).

    Added in 0.3.
    """

    run_id: str
    stage_id: int
    factory: str
    attempt: int
    status: RunStatus
    duration: float | None = None

    def __post_init__(self) -> None:
        """Hold the status as a ``RunStatus``."""
        _status_field(self, "status")


@dataclass(frozen=True, slots=True)
class MetricTotal:
    """The values of one metric in one run: their sum, largest value and count.

    Added in 0.3.
    """

    run_id: str
    name: str
    total: float
    peak: float
    count: int


@dataclass(frozen=True, slots=True)
class PipelineSummary:
    """One pipeline of the history: how many runs, and its latest run.

    Added in 0.3.
    """

    pipeline: str
    runs: int
    last_run_id: str
    last_status: RunStatus
    last_started_at: float

    def __post_init__(self) -> None:
        """Hold the last run's status as a ``RunStatus``."""
        _status_field(self, "last_status")


@dataclass(frozen=True, slots=True)
class FactoryCounts:
    """How many factories of a run there are, and how many are in each state.

    ``total`` is the number of factories of the pipeline (recorded at run
    start), or of those that started when it was not recorded. A factory
    counts once, with the status of its latest attempt.

    Added in 0.3.
    """

    total: int = 0
    succeeded: int = 0
    failed: int = 0
    running: int = 0


@dataclass(frozen=True, slots=True)
class FailureRecord:
    """One failure: a failed factory attempt, or a run that failed without one.

    A run that failed or crashed with no failed attempt (a pre-flight error,
    a crash) is one failure of no factory (``factory`` is ``None``, ``id``
    is 0). The error comes without its traceback: only what grouping needs.

    Attributes:
        run_id: The run of the failure.
        started_at: When the run started (with ``run_id`` and ``id``, the
            order of ``list_failures``).
        pipeline: The run's pipeline.
        factory: The factory that failed, ``None`` for a run's own failure.
        attempt: The attempt number, ``None`` for a run's own failure.
        status: ``failed``, or ``crashed`` for a run whose process died.
        ts: When it failed (its end; its start when the end is unknown).
        id: The attempt's row id (0 for a run's own failure).
        error_type: The type of the error (``FactoryError``).
        message: Its message (secrets masked when stored).
        hint: Its hint, if any.
        error_class: The Spark error class, if any.
        causes: The chain of causes, outermost first, each a dict with
            ``error_type`` and ``message`` (and ``hint``, if any).

    Added in 0.5.
    """

    run_id: str
    started_at: float
    pipeline: str
    factory: str | None
    attempt: int | None
    status: RunStatus
    ts: float
    id: int = 0
    error_type: str = "Error"
    message: str = ""
    hint: str | None = None
    error_class: str | None = None
    causes: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        """Hold the status as a ``RunStatus``."""
        _status_field(self, "status")
