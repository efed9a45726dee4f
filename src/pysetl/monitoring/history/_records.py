"""What the run history stores and returns: read records and write operations.

Reads return frozen records (``RunRecord``, ``FactoryAttemptRecord``...) in a
``Page``. Writes are operations (``StartRun``, ``AddEvent``...) that a store
applies in batches, each batch in one transaction (``BaseRunHistory.apply``).
Times are seconds since the epoch (``time.time()``), as floats.

Every write operation masks secrets when it is created, through the one
redaction point (``pysetl.utils.redaction``): error dicts, event data,
metric labels, log messages and config contents reach no store unmasked.

Added in 0.2.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pysetl.errors import PySetlError
from pysetl.utils.redaction import (
    redact_labels,
    redact_mapping,
    redact_text,
)

__all__ = [
    "LEVELS",
    "MAX_TEXT",
    "STATUSES",
    "AddEvent",
    "AddLog",
    "AddMetric",
    "AttemptSummary",
    "EventRecord",
    "FactoryAttemptRecord",
    "FactoryCounts",
    "FailureRecord",
    "FinishAttempt",
    "FinishRun",
    "FinishStage",
    "Heartbeat",
    "LogRecord",
    "MarkCrashed",
    "MetricRecord",
    "MetricTotal",
    "Op",
    "Page",
    "PipelineSummary",
    "RunRecord",
    "RunStatus",
    "SaveConfigVersion",
    "StageRecord",
    "StartAttempt",
    "StartRun",
    "StartStage",
    "cut",
    "error_to_dict",
    "level_number",
]

T = TypeVar("T")

RunStatus = Literal["running", "succeeded", "failed", "crashed"]
STATUSES: tuple[str, ...] = ("running", "succeeded", "failed", "crashed")
"""Every status a run, a stage or a factory attempt can have."""

LEVELS: dict[str, int] = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
}
"""Level names and numbers; ``search_logs(level=)`` keeps that level and up."""


MAX_TEXT = 1_000_000
"""The longest text (in characters) a history stores; longer ones are cut.

Log messages are cut when stored (a length check); other texts only when
their batch was rejected by a SQL store (``_salvage``).

Added in 0.5.
"""


def cut(text: str) -> str:
    """``text``, cut to ``MAX_TEXT`` characters with a marker when longer."""
    if len(text) <= MAX_TEXT:
        return text
    return f"{text[:MAX_TEXT]}... [pysetl cut {len(text) - MAX_TEXT} characters]"


def level_number(level: str | int) -> int:
    """The number of a level given by name (any case) or number.

    Unknown names count as ``INFO`` so that a foreign logger's custom level
    is still stored and found.
    """
    if isinstance(level, int):
        return level
    return LEVELS.get(level.upper(), logging.INFO)


def error_to_dict(error: BaseException) -> dict[str, Any]:
    """The whole context of ``error`` as JSON-ready data.

    Keeps pysetl's structured context (run id, stage, factory, attempt,
    phase, hint...), the error type and message, the chain of causes (each
    with its type and message) and the formatted traceback of the causes.
    """
    data: dict[str, Any] = {}
    if isinstance(error, PySetlError):
        data.update(error.context)
        message = error.message
    else:
        message = str(error)
    data["error_type"] = type(error).__name__
    data["message"] = message
    data.setdefault("hint", None)
    causes = []
    seen = {id(error)}
    cause = _cause(error)
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        entry = {"error_type": type(cause).__name__, "message": str(cause)}
        if isinstance(cause, PySetlError) and cause.hint:
            entry["hint"] = cause.hint  # str() of our errors is the message alone
        causes.append(entry)
        cause = _cause(cause)
    data["causes"] = causes
    # The outermost error is still propagating (observers run on their own
    # thread), so its own frames change under us; its causes were caught and
    # are final. Formatting it without its frames makes the text the same for
    # every event that carries this error.
    data["traceback"] = "".join(traceback.format_exception(type(error), error, None))
    clean: dict[str, Any] = redact_mapping(_jsonable(data))
    return clean


def _redact_error(op: Any) -> None:
    """Mask the secrets of a frozen operation's ``error`` dict."""
    if op.error:
        object.__setattr__(op, "error", redact_mapping(op.error))


def _cause(error: BaseException) -> BaseException | None:
    """The explicit cause, else the implicit context unless ``from None`` hid it."""
    if error.__cause__ is not None:
        return error.__cause__
    if error.__suppress_context__:
        return None
    return error.__context__


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


# ------------------------------------------------------------------ reads
@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a query's results.

    Attributes:
        items: The rows of this page, in the query's order.
        next_cursor: Pass it as ``cursor=`` to get the next page; ``None``
            when this is the last page.
    """

    items: tuple[T, ...]
    next_cursor: str | None = None


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
    status: str
    started_at: float
    finished_at: float | None = None
    heartbeat_at: float | None = None
    pid: int | None = None
    host: str | None = None
    config_version: str | None = None
    error: dict[str, Any] | None = None
    resumed_from: str | None = None

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
    status: str
    started_at: float | None
    finished_at: float | None = None
    duration: float | None = None
    error: dict[str, Any] | None = None


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
    status: str
    started_at: float | None
    finished_at: float | None = None
    duration: float | None = None
    phases: dict[str, float] = field(default_factory=dict)
    phase: str | None = None
    error: dict[str, Any] | None = None


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
    status: str
    duration: float | None = None


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
    last_status: str
    last_started_at: float


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
    status: str
    ts: float
    id: int = 0
    error_type: str = "Error"
    message: str = ""
    hint: str | None = None
    error_class: str | None = None
    causes: tuple[dict[str, Any], ...] = ()


# ----------------------------------------------------------------- writes
@dataclass(frozen=True, slots=True)
class StartRun:
    """A run started (status ``running``); ``resumed_from``: the run it resumes."""

    run_id: str
    pipeline: str
    started_at: float
    pid: int | None = None
    host: str | None = None
    config_version: str | None = None
    resumed_from: str | None = None


@dataclass(frozen=True, slots=True)
class FinishRun:
    """A run ended with ``status`` (``succeeded`` or ``failed``)."""

    run_id: str
    status: str
    finished_at: float
    error: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        """Mask the error's secrets."""
        _redact_error(self)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The process of a running run is alive at ``at``."""

    run_id: str
    at: float


@dataclass(frozen=True, slots=True)
class MarkCrashed:
    """The process of a running run died: mark it and its open parts crashed."""

    run_id: str
    at: float
    reason: str

    def __post_init__(self) -> None:
        """Mask the reason's secrets."""
        object.__setattr__(self, "reason", redact_text(self.reason))

    def error(self) -> dict[str, Any]:
        """The error stored with the crashed run."""
        return {
            "error_type": "Crashed",
            "message": self.reason,
            "hint": "the process died before the run ended; its last log lines "
            "are in 'pysetl logs RUN'",
        }


@dataclass(frozen=True, slots=True)
class StartStage:
    """A stage of a run started."""

    run_id: str
    stage_id: int
    started_at: float


@dataclass(frozen=True, slots=True)
class FinishStage:
    """A stage of a run ended."""

    run_id: str
    stage_id: int
    status: str
    finished_at: float
    duration: float | None = None
    error: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        """Mask the error's secrets."""
        _redact_error(self)


@dataclass(frozen=True, slots=True)
class StartAttempt:
    """A factory attempt started."""

    run_id: str
    stage_id: int
    factory: str
    attempt: int
    started_at: float


@dataclass(frozen=True, slots=True)
class FinishAttempt:
    """A factory attempt ended."""

    run_id: str
    stage_id: int
    factory: str
    attempt: int
    status: str
    finished_at: float
    duration: float | None = None
    phases: dict[str, float] = field(default_factory=dict)
    phase: str | None = None
    error: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        """Mask the error's secrets."""
        _redact_error(self)


@dataclass(frozen=True, slots=True)
class AddEvent:
    """A lifecycle event happened."""

    run_id: str
    ts: float
    name: str
    stage_id: int | None = None
    factory: str | None = None
    attempt: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Mask the data's secrets."""
        if self.data:
            object.__setattr__(self, "data", redact_mapping(self.data))


@dataclass(frozen=True, slots=True)
class AddMetric:
    """A value was measured."""

    run_id: str
    name: str
    value: float
    ts: float
    factory: str | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Mask the labels' secrets."""
        if self.labels:
            object.__setattr__(self, "labels", redact_labels(self.labels))


@dataclass(frozen=True, slots=True)
class AddLog:
    """A log line was emitted."""

    ts: float
    level: str
    message: str
    run_id: str | None = None
    factory: str | None = None
    logger: str | None = None

    def __post_init__(self) -> None:
        """Mask the message's secrets."""
        object.__setattr__(self, "message", redact_text(self.message))


@dataclass(frozen=True, slots=True)
class SaveConfigVersion:
    """A resolved config (secrets redacted) identified by its content hash."""

    hash: str
    content: str
    created_at: float

    def __post_init__(self) -> None:
        """Mask the content's secrets."""
        object.__setattr__(self, "content", redact_text(self.content))


Op = (
    StartRun
    | FinishRun
    | Heartbeat
    | MarkCrashed
    | StartStage
    | FinishStage
    | StartAttempt
    | FinishAttempt
    | AddEvent
    | AddMetric
    | AddLog
    | SaveConfigVersion
)
"""Any write operation."""
