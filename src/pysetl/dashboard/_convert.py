"""History records to API payloads, every string through the redaction point.

Records are stored redacted already; the API masks again on the way out so
that a secret registered after a line was written (or a store written by an
older pysetl) never reaches a browser.

Added in 0.3.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pysetl.monitoring.history import STALE_AFTER, RunStatus
from pysetl.utils.redaction import redact_text, redact_value

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from pysetl.monitoring.history.records import (
        EventRecord,
        FactoryAttemptRecord,
        FactoryCounts,
        LogRecord,
        MetricRecord,
        Page,
        RunRecord,
        StageRecord,
    )

__all__ = [
    "LOG_MESSAGE_MAX",
    "attempt_metrics",
    "clean",
    "error_out",
    "event_out",
    "factory_metrics",
    "factory_out",
    "is_stale",
    "log_out",
    "page_out",
    "run_out",
    "stage_out",
    "text",
]

LOG_MESSAGE_MAX = 16_384
"""The most characters of a log line the API returns (a page stays small)."""

_ERROR_FIELDS = ("error_type", "message", "hint", "factory", "stage", "phase")
_ERROR_FIELDS_MORE = ("attempt", "error_class")
_HIDDEN_LABELS = frozenset({"stage", "kind"})


def text(value: str | None) -> str | None:
    """``value`` with its secrets masked."""
    return None if value is None else redact_text(value)


def clean(value: Any) -> Any:
    """``value`` with secrets masked in strings, by key name, and in keys."""
    masked = redact_value(value)
    return _keys(masked)


def _keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {redact_text(str(k)): _keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys(v) for v in value]
    return value


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def error_out(error: dict[str, Any] | None) -> dict[str, Any] | None:
    """An ``ErrorOut`` payload from a stored error dict (``error_to_dict``)."""
    if not error:
        return None
    data = clean(error)
    context = {
        k: v
        for k, v in data.items()
        if k not in _ERROR_FIELDS and k not in _ERROR_FIELDS_MORE
    }
    return {
        "type": _str(data.get("error_type")) or "Error",
        "message": _str(data.get("message")) or "",
        "hint": _str(data.get("hint")),
        "factory": _str(data.get("factory")),
        "stage": _int(data.get("stage")),
        "phase": _str(data.get("phase")),
        "attempt": _int(data.get("attempt")),
        "error_class": _str(data.get("error_class")),
        "context": context,
    }


def is_stale(run: RunRecord, now: float | None = None) -> bool:
    """Whether ``run`` says it is running but its process stopped beating.

    Its last heartbeat (or its start) is older than ``STALE_AFTER``: the
    process probably died. The dashboard only reads, so it shows this rather
    than marking the run crashed (``reconcile_crashed`` does that).
    """
    if run.status != RunStatus.RUNNING:
        return False
    seen = run.heartbeat_at or run.started_at
    return (time.time() if now is None else now) - seen > STALE_AFTER


def run_out(
    run: RunRecord, counts: FactoryCounts, now: float | None = None
) -> dict[str, Any]:
    """A ``RunOut`` payload (``now``: the time ``stale`` is judged at)."""
    return {
        "run_id": run.run_id,
        "pipeline": redact_text(run.pipeline),
        "status": run.status,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration": run.duration,
        "heartbeat_at": run.heartbeat_at,
        "stale": is_stale(run, now),
        "host": text(run.host),
        "pid": run.pid,
        "config_version": text(run.config_version),
        "resumed_from": text(run.resumed_from),
        "error": error_out(run.error),
        "factories": {
            "total": counts.total,
            "succeeded": counts.succeeded,
            "failed": counts.failed,
            "running": counts.running,
        },
    }


def stage_out(stage: StageRecord) -> dict[str, Any]:
    """A ``StageOut`` payload."""
    return {
        "stage_id": stage.stage_id,
        "status": stage.status,
        "started_at": stage.started_at,
        "finished_at": stage.finished_at,
        "duration": stage.duration,
        "error": error_out(stage.error),
    }


def factory_out(
    attempt: FactoryAttemptRecord, metrics: dict[str, float] | None = None
) -> dict[str, Any]:
    """A ``FactoryOut`` payload."""
    return {
        "factory": redact_text(attempt.factory),
        "stage_id": attempt.stage_id,
        "attempt": attempt.attempt,
        "status": attempt.status,
        "started_at": attempt.started_at,
        "finished_at": attempt.finished_at,
        "duration": attempt.duration,
        "phase": attempt.phase,
        "phases": clean(dict(attempt.phases)),
        "error": error_out(attempt.error),
        "metrics": dict(metrics or {}),
    }


def factory_metrics(metrics: Iterable[MetricRecord]) -> dict[str, dict[str, float]]:
    """The last value of each metric of each factory, by factory name.

    Labels other than ``stage`` and ``kind`` become part of the metric's
    name (``pysetl_factory_phase_duration_seconds{phase=read}``).
    """
    found: dict[str, dict[str, float]] = {}
    for metric in metrics:
        if metric.factory is None:
            continue
        labels = sorted(
            (k, v) for k, v in metric.labels.items() if k not in _HIDDEN_LABELS
        )
        name = metric.name
        if labels:
            name += "{" + ",".join(f"{k}={v}" for k, v in labels) + "}"
        found.setdefault(metric.factory, {})[redact_text(name)] = metric.value
    return found


def attempt_metrics(
    metrics: Iterable[MetricRecord],
) -> dict[tuple[str, int], dict[str, float]]:
    """The last value of each metric of each factory attempt.

    Keyed by ``(factory, attempt)``: a retry's metrics carry an ``attempt``
    label (from the second attempt on), which is taken off their names here.
    Other labels are named as ``factory_metrics`` names them.

    Added in 0.6.
    """
    found: dict[tuple[str, int], dict[str, float]] = {}
    for metric in metrics:
        if metric.factory is None:
            continue
        attempt = 1
        labels = []
        for key, value in sorted(metric.labels.items()):
            if key == "attempt" and value.isdigit():
                attempt = int(value)
            elif key not in _HIDDEN_LABELS:
                labels.append((key, value))
        name = metric.name
        if labels:
            name += "{" + ",".join(f"{k}={v}" for k, v in labels) + "}"
        found.setdefault((metric.factory, attempt), {})[redact_text(name)] = (
            metric.value
        )
    return found


def log_out(line: LogRecord) -> dict[str, Any]:
    """A ``LogOut`` payload; a message over ``LOG_MESSAGE_MAX`` characters is cut.

    The message is masked whole before it is cut, so a cut never shows part
    of a secret.
    """
    message = redact_text(line.message)
    truncated = len(message) > LOG_MESSAGE_MAX
    if truncated:
        cut = len(message) - LOG_MESSAGE_MAX
        message = f"{message[:LOG_MESSAGE_MAX]}… [{cut} more characters]"
    return {
        "id": line.id,
        "ts": line.ts,
        "level": line.level,
        "logger": text(line.logger),
        "factory": text(line.factory),
        "message": message,
        "truncated": truncated,
    }


def event_out(event: EventRecord) -> dict[str, Any]:
    """An ``EventOut`` payload."""
    return {
        "id": event.id,
        "ts": event.ts,
        "name": event.name,
        "stage_id": event.stage_id,
        "factory": text(event.factory),
        "attempt": event.attempt,
        "data": clean(dict(event.data)),
    }


def page_out(page: Page[Any], convert: Callable[[Any], Any]) -> dict[str, Any]:
    """A paged payload: ``items`` converted one by one, and ``next_cursor``."""
    return {
        "items": [convert(item) for item in page.items],
        "next_cursor": page.next_cursor,
    }
