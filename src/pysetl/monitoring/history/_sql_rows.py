"""Row helpers of ``SqlRunHistory``: op to row, row to record, URL redaction.

Also the query of a run's last sign of life (``last_seen``), which marks
when a crashed run ended.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from pysetl.errors import RunHistoryError
from pysetl.monitoring.history import _schema as s
from pysetl.monitoring.history._records import (
    AddEvent,
    AddLog,
    AddMetric,
    FinishAttempt,
    FinishStage,
    LogRecord,
    RunRecord,
    StartAttempt,
    StartRun,
    StartStage,
    level_number,
)
from pysetl.utils.redaction import redact_text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pysetl.monitoring.history._records import Op

__all__ = [
    "coalesce",
    "escape_like",
    "insert_row",
    "last_seen",
    "log_record",
    "mapping",
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


def coalesce(
    ops: Sequence[Op],
) -> tuple[dict[sa.Table, list[dict[str, Any]]], list[Op]]:
    """The rows a batch inserts, by table, and the other operations, in order.

    A stage or factory attempt that starts and ends within the batch becomes
    one finished row instead of an insert and an update: a run of many short
    factories is written with a few ``executemany`` calls, not one statement
    per event.
    """
    inserts: dict[sa.Table, list[dict[str, Any]]] = {}
    later: list[Op] = []
    started: dict[tuple[Any, ...], dict[str, Any]] = {}
    for op in ops:
        if isinstance(op, FinishAttempt | FinishStage):
            key = _finish_key(op)
            row = started.pop(key, None)
            if row is not None:
                row.update(_finish_values(op))
                continue
            later.append(op)
            continue
        insert = insert_row(op)
        if insert is None:
            later.append(op)
            continue
        table, row = insert
        inserts.setdefault(table, []).append(row)
        if isinstance(op, StartAttempt):
            started["attempt", op.run_id, op.stage_id, op.factory, op.attempt] = row
        elif isinstance(op, StartStage):
            started["stage", op.run_id, op.stage_id] = row
    return inserts, later


def _finish_key(op: FinishAttempt | FinishStage) -> tuple[Any, ...]:
    if isinstance(op, FinishAttempt):
        return ("attempt", op.run_id, op.stage_id, op.factory, op.attempt)
    return ("stage", op.run_id, op.stage_id)


def _finish_values(op: FinishAttempt | FinishStage) -> dict[str, Any]:
    values = {
        "status": op.status,
        "finished_at": op.finished_at,
        "duration": op.duration,
        "error": op.error,
    }
    if isinstance(op, FinishAttempt):
        values |= {"phases": dict(op.phases), "phase": op.phase}
    return values


def insert_row(op: Op) -> tuple[sa.Table, dict[str, Any]] | None:  # noqa: PLR0911
    """The table and row that ``op`` inserts, or ``None`` if it is not an insert.

    The most frequent operations are tested first (one run writes many
    metrics, events and log lines per factory, and one run row).
    """
    if isinstance(op, AddMetric):
        return s.METRICS, {
            "run_id": op.run_id,
            "factory": op.factory,
            "name": op.name,
            "value": op.value,
            "labels": op.labels,
            "ts": op.ts,
        }
    if isinstance(op, AddEvent):
        return s.EVENTS, {
            "run_id": op.run_id,
            "ts": op.ts,
            "name": op.name,
            "stage_id": op.stage_id,
            "factory": op.factory,
            "attempt": op.attempt,
            "data": op.data,
        }
    if isinstance(op, AddLog):
        return s.LOGS, {
            "ts": op.ts,
            "level": op.level.upper(),
            "levelno": level_number(op.level),
            "logger": op.logger,
            "run_id": op.run_id,
            "factory": op.factory,
            "message": op.message,
        }
    if isinstance(op, StartAttempt):
        return s.ATTEMPTS, {
            "run_id": op.run_id,
            "stage_id": op.stage_id,
            "factory": op.factory,
            "attempt": op.attempt,
            "status": "running",
            "started_at": op.started_at,
            "phases": {},
            "finished_at": None,
            "duration": None,
            "phase": None,
            "error": None,
        }
    if isinstance(op, StartStage):
        return s.STAGES, {
            "run_id": op.run_id,
            "stage_id": op.stage_id,
            "status": "running",
            "started_at": op.started_at,
            # Every column a finish may set, so that rows of a batch (some
            # finished by ``coalesce``) share one shape for executemany.
            "finished_at": None,
            "duration": None,
            "error": None,
        }
    if isinstance(op, StartRun):
        return s.RUNS, {
            "run_id": op.run_id,
            "pipeline": op.pipeline,
            "status": "running",
            "started_at": op.started_at,
            "heartbeat_at": op.started_at,
            "pid": op.pid,
            "host": op.host,
            "config_version": op.config_version,
        }
    return None


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
