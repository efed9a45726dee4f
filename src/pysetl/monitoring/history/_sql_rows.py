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
    LogRecord,
    RunRecord,
    StartAttempt,
    StartRun,
    StartStage,
    level_number,
)
from pysetl.utils.redaction import redact_text

if TYPE_CHECKING:
    from pysetl.monitoring.history._records import Op

__all__ = [
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


def insert_row(op: Op) -> tuple[sa.Table, dict[str, Any]] | None:  # noqa: PLR0911
    """The table and row that ``op`` inserts, or ``None`` if it is not an insert."""
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
    if isinstance(op, StartStage):
        return s.STAGES, {
            "run_id": op.run_id,
            "stage_id": op.stage_id,
            "status": "running",
            "started_at": op.started_at,
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
        }
    if isinstance(op, AddEvent):
        return s.EVENTS, {
            "run_id": op.run_id,
            "ts": op.ts,
            "name": op.name,
            "stage_id": op.stage_id,
            "factory": op.factory,
            "attempt": op.attempt,
            "data": dict(op.data),
        }
    if isinstance(op, AddMetric):
        return s.METRICS, {
            "run_id": op.run_id,
            "factory": op.factory,
            "name": op.name,
            "value": op.value,
            "labels": dict(op.labels),
            "ts": op.ts,
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
