"""What a run history is told: the write operations a store applies.

Writes are operations (``StartRun``, ``AddEvent``...) that a store applies
in batches, each batch in one transaction (``BaseRunHistory.apply``); what
the queries return is ``pysetl.monitoring.history.records``. Times are
seconds since the epoch (``time.time()``), as floats.

Every write operation masks secrets when it is created, through the one
redaction point (``pysetl.utils.redaction``): error dicts, event data,
metric labels, log messages and config contents reach no store unmasked.

Added in 0.2 (as ``pysetl.monitoring.history._records``). Changed in 0.7:
public, split from the read records; a status is a ``RunStatus``.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any

from pysetl.errors import PySetlError
from pysetl.monitoring.history.records import RunStatus, _status_field
from pysetl.utils.redaction import (
    redact_labels,
    redact_mapping,
    redact_text,
)

__all__ = [
    "MAX_TEXT",
    "AddEvent",
    "AddLog",
    "AddMetric",
    "FinishAttempt",
    "FinishRun",
    "FinishStage",
    "Heartbeat",
    "MarkCrashed",
    "Op",
    "SaveConfigVersion",
    "StartAttempt",
    "StartRun",
    "StartStage",
    "cut",
    "error_to_dict",
]

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
    status: RunStatus
    finished_at: float
    error: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        """Check the status; mask the error's secrets."""
        _status_field(self, "status")
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
    status: RunStatus
    finished_at: float
    duration: float | None = None
    error: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        """Check the status; mask the error's secrets."""
        _status_field(self, "status")
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
    status: RunStatus
    finished_at: float
    duration: float | None = None
    phases: dict[str, float] = field(default_factory=dict)
    phase: str | None = None
    error: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        """Check the status; mask the error's secrets."""
        _status_field(self, "status")
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
