"""Row helpers of ``SqlRunHistory``: op to row, row to record, URL redaction.

Also the query of a run's last sign of life (``last_seen``), which marks
when a crashed run ended.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from pysetl.errors import RunHistoryError
from pysetl.monitoring.history import _schema as s
from pysetl.monitoring.history.ops import (
    MAX_TEXT,
    AddEvent,
    AddLog,
    AddMetric,
    FinishAttempt,
    FinishStage,
    StartAttempt,
    StartRun,
    StartStage,
    cut,
)
from pysetl.monitoring.history.records import (
    LogRecord,
    RunRecord,
    RunStatus,
    level_number,
)
from pysetl.utils.redaction import redact_text

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


__all__ = [
    "FINISH_KEYS",
    "FINISH_VALUES",
    "INSERTS",
    "coalesce",
    "encode_json",
    "escape_like",
    "finish_params",
    "last_seen",
    "log_record",
    "mapping",
    "pack",
    "parse_url",
    "redact_url",
    "run_record",
]

_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


def redact_url(url: str) -> str:
    """``url`` with its secrets masked.

    The password between ``user:`` and ``@`` becomes ``***``; query
    parameters that name a secret (``?password=...``, ``sslkey``...) and
    registered secrets are masked by the process-wide redactor.
    """
    return _PASSWORD.sub(r"\1***@", redact_text(url))


def parse_url(url: str | sa.URL) -> sa.URL:
    """``url`` parsed by SQLAlchemy.

    Raises:
        RunHistoryError: It is not a URL (the message hides its password).
    """
    try:
        return sa.make_url(url)
    except (sa_exc.ArgumentError, ValueError):
        shown = redact_url(str(url))
        msg = f"Cannot parse the run history URL {shown!r}"
        # No chained cause: SQLAlchemy's message repeats the URL, password included.
        raise RunHistoryError(
            msg, hint="use a SQLAlchemy URL such as sqlite:///.pysetl/history.db"
        ) from None


def escape_like(text: str) -> str:
    """``text`` with LIKE wildcards escaped by a backslash."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# ------------------------------------------------------------ packed rows
# A write operation "packed" for a SQL store is a tuple of plain values
# (JSON already text): a code, then the row's values in the order of
# ``INSERTS[code]``. ``pack`` builds them on the thread that records, so the
# writer's queue holds tuples that refer to no other object: the garbage
# collector stops tracking them at its first look, and a queue of thousands
# of rows costs its collections nothing (operation objects are tracked, and
# a queue of them was what the collector spent most of its time on).
# Lower-case codes insert a row; "A" and "S" finish an attempt or a stage.

_JSON = json.JSONEncoder(separators=(",", ":"))  # ASCII escapes, as SQLAlchemy


def encode_json(value: Any) -> str | None:
    """A JSON column's text; SQL NULL for ``None`` (as a column left out)."""
    if value is None:
        return None
    if not value and isinstance(value, dict):
        return "{}"  # most labels and event data: skip the encoder
    return _JSON.encode(value)


_LABELS: dict[tuple[tuple[str, str], ...], str] = {}
_LABELS_CACHED = 4096


def labels_json(labels: Mapping[str, str]) -> str:
    """The JSON text of metric labels (strings), from a cache: few sets repeat."""
    if not labels:
        return "{}"
    key = tuple(labels.items())
    text = _LABELS.get(key)
    if text is None:
        if len(_LABELS) >= _LABELS_CACHED:
            _LABELS.clear()
        text = _LABELS[key] = _JSON.encode(labels)
    return text


INSERTS: dict[str, tuple[sa.Table, tuple[str, ...]]] = {
    "m": (s.METRICS, ("run_id", "factory", "name", "value", "labels", "ts")),
    "l": (
        s.LOGS,
        ("ts", "level", "levelno", "logger", "run_id", "factory", "message"),
    ),
    "e": (
        s.EVENTS,
        ("run_id", "ts", "name", "stage_id", "factory", "attempt", "data"),
    ),
    "a": (
        s.ATTEMPTS,
        (
            "run_id",
            "stage_id",
            "factory",
            "attempt",
            "status",
            "started_at",
            "finished_at",
            "duration",
            "phases",
            "phase",
            "error",
        ),
    ),
    "s": (
        s.STAGES,
        (
            "run_id",
            "stage_id",
            "status",
            "started_at",
            "finished_at",
            "duration",
            "error",
        ),
    ),
    "r": (
        s.RUNS,
        (
            "run_id",
            "pipeline",
            "status",
            "started_at",
            "heartbeat_at",
            "pid",
            "host",
            "config_version",
            "resumed_from",
        ),
    ),
}
"""The table and columns of each insert code (a packed row's values follow them)."""


def pack(op: object) -> object:  # noqa: PLR0911 - one case per operation
    """``op`` as a packed row, or ``op`` itself when it is not one that packs.

    The most frequent operations are tested first (a run writes metrics,
    log lines and attempts per factory, and one run row).
    """
    if type(op) is AddMetric:
        return (
            "m",
            op.run_id,
            op.factory,
            op.name,
            op.value,
            labels_json(op.labels),
            op.ts,
        )
    if type(op) is AddLog:
        return (
            "l",
            op.ts,
            op.level.upper(),
            level_number(op.level),
            op.logger,
            op.run_id,
            op.factory,
            op.message if len(op.message) <= MAX_TEXT else cut(op.message),
        )
    if type(op) is StartAttempt:
        return (
            "a",
            op.run_id,
            op.stage_id,
            op.factory,
            op.attempt,
            RunStatus.RUNNING,
            op.started_at,
            None,
            None,
            "{}",
            None,
            None,
        )
    if type(op) is FinishAttempt:
        return (
            "A",
            op.run_id,
            op.stage_id,
            op.factory,
            op.attempt,
            op.status,
            op.finished_at,
            op.duration,
            encode_json(op.phases),
            op.phase,
            encode_json(op.error),
        )
    if type(op) is AddEvent:
        return (
            "e",
            op.run_id,
            op.ts,
            op.name,
            op.stage_id,
            op.factory,
            op.attempt,
            encode_json(op.data),
        )
    if type(op) is StartStage:
        return (
            "s",
            op.run_id,
            op.stage_id,
            RunStatus.RUNNING,
            op.started_at,
            None,
            None,
            None,
        )
    if type(op) is FinishStage:
        return (
            "S",
            op.run_id,
            op.stage_id,
            op.status,
            op.finished_at,
            op.duration,
            encode_json(op.error),
        )
    if type(op) is StartRun:
        return (
            "r",
            op.run_id,
            op.pipeline,
            RunStatus.RUNNING,
            op.started_at,
            op.started_at,
            op.pid,
            op.host,
            op.config_version,
            op.resumed_from,
        )
    return op


_PLAIN = frozenset({"m", "l", "e", "r"})  # insert codes no finish fills in


def coalesce(
    items: Sequence[object],
) -> tuple[dict[str, list[Sequence[Any]]], list[object]]:
    """The rows a batch inserts, by insert code, and the rest, in order.

    ``items`` are packed rows or operations (packed here). A stage or
    factory attempt that starts and ends within the batch becomes one
    finished row instead of an insert and an update: a run of many short
    factories is written with a few ``executemany`` calls, not one
    statement per event. What is left (``later``) are finishes of rows
    inserted by an earlier batch (packed) and operations that update.
    """
    inserts: dict[str, list[Sequence[Any]]] = {}
    later: list[object] = []
    attempts: dict[tuple[Any, ...], list[Any]] = {}
    stages: dict[tuple[Any, ...], list[Any]] = {}
    for item in items:
        row = item if item.__class__ is tuple else pack(item)
        if row.__class__ is not tuple:
            later.append(row)
            continue
        code = row[0]
        if code in _PLAIN:  # metrics, log lines, events, runs: most rows
            inserts.setdefault(code, []).append(row[1:])
            continue
        if code == "A":
            started = attempts.pop(row[1:5], None)
            if started is None:
                later.append(row)
            else:  # status, then finished_at .. error
                started[4] = row[5]
                started[6:11] = row[6:11]
            continue
        if code == "S":
            started = stages.pop(row[1:3], None)
            if started is None:
                later.append(row)
            else:  # status, then finished_at .. error
                started[2] = row[3]
                started[4:7] = row[4:7]
            continue
        values = list(row[1:])  # a finish in this batch fills it in
        if code == "a":
            attempts[row[1:5]] = values
        else:
            stages[row[1:3]] = values
        inserts.setdefault(code, []).append(values)
    return inserts, later


FINISH_KEYS = {
    "A": ("run_id", "stage_id", "factory", "attempt"),
    "S": ("run_id", "stage_id"),
}
"""The key columns of a packed finish of an attempt ("A") or a stage ("S")."""
FINISH_VALUES = {
    "A": ("status", "finished_at", "duration", "phases", "phase", "error"),
    "S": ("status", "finished_at", "duration", "error"),
}
"""The columns a packed finish sets (JSON columns as text already)."""


def finish_params(row: Sequence[Any]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The key and the values of a packed finish, in ``FINISH_*`` order.

    JSON values stay the text they were packed as.
    """
    width = len(FINISH_KEYS[row[0]])
    values = len(FINISH_VALUES[row[0]])
    return tuple(row[1 : 1 + width]), tuple(row[1 + width : 1 + width + values])


def mapping(row: sa.Row[Any]) -> dict[str, Any]:
    """A result row as a dict of column names to values."""
    return dict(row._mapping)  # noqa: SLF001 - SQLAlchemy's public row API


def run_record(row: sa.Row[Any]) -> RunRecord:
    """A ``runs`` row as a record."""
    return RunRecord(**mapping(row))


def log_record(row: sa.Row[Any]) -> LogRecord:
    """A ``logs`` row as a record (without the level number)."""
    data = mapping(row)
    del data["levelno"]
    return LogRecord(**data)


def last_seen(conn: sa.Connection, run_id: str) -> float | None:
    """The latest time anything was recorded for a run (its last sign of life).

    The latest of its start, heartbeat, events, metrics, log lines and the
    starts and ends of its stages and attempts; ``None`` for an unknown run.
    """
    columns = (
        s.RUNS.c.started_at,
        s.RUNS.c.heartbeat_at,
        s.EVENTS.c.ts,
        s.METRICS.c.ts,
        s.LOGS.c.ts,
        s.STAGES.c.started_at,
        s.STAGES.c.finished_at,
        s.ATTEMPTS.c.started_at,
        s.ATTEMPTS.c.finished_at,
    )
    query = sa.select(
        *(
            sa.select(sa.func.max(column))
            .where(column.table.c.run_id == run_id)
            .scalar_subquery()
            for column in columns
        )
    )
    row = conn.execute(query).one()
    return max((t for t in row if t is not None), default=None)
