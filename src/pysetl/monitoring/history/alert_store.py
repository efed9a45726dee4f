"""``AlertStore``: the alert history (alerts, what happened to them, silences).

What is stored, in the tables of schema migration 5 (every text redacted):

* an **alert** per firing episode: its key (the rule and the group's labels,
  the deduplication key), rule, state (``firing`` until it resolves, then
  ``resolved``), severity, pipeline, factory, the run that made it fire,
  summary, description, labels and details (error class, hint, link), when
  it started, ended, and was last notified;
* an **alert event** per thing that happened to an alert: ``fired``,
  ``resolved``, ``notified`` (with the notifier), ``delivery_failed`` (with
  the notifier and the error), ``silenced``, ``rate_limited``;
* **silences**: until when, which rule and/or pipeline, who, why.

It works on every store: the SQL stores through their engine, the in-memory
store through a private in-memory SQLite database of its own.

Added in 0.5.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from pysetl.errors import RunHistoryError
from pysetl.monitoring.history import _schema as s
from pysetl.monitoring.history._base import DEFAULT_LIMIT
from pysetl.monitoring.history._checks import check_cursor, check_limit
from pysetl.monitoring.history._memory import InMemoryRunHistory
from pysetl.monitoring.history._sql import SqlRunHistory
from pysetl.monitoring.history.records import Page
from pysetl.utils.redaction import redact_text, redact_value

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from pysetl.monitoring.history._base import BaseRunHistory

__all__ = [
    "ALERT_EVENT_KINDS",
    "AlertEventRecord",
    "AlertRecord",
    "AlertStore",
    "SilenceRecord",
]

ALERT_EVENT_KINDS = (
    "fired",
    "resolved",
    "notified",
    "delivery_failed",
    "silenced",
    "rate_limited",
)
"""What an alert event records."""


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One firing episode of an alert (see the module docstring)."""

    id: int
    key: str
    rule: str
    state: str
    severity: str
    summary: str
    description: str
    started_at: float
    updated_at: float
    pipeline: str | None = None
    factory: str | None = None
    run_id: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    ended_at: float | None = None
    last_notified_at: float | None = None


@dataclass(frozen=True, slots=True)
class AlertEventRecord:
    """One thing that happened to an alert."""

    id: int
    alert_id: int
    ts: float
    kind: str
    notifier: str | None = None
    run_id: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class SilenceRecord:
    """A silence: alerts of ``rule`` and/or ``pipeline`` are held until ``ends_at``."""

    id: int
    created_at: float
    ends_at: float
    rule: str | None = None
    pipeline: str | None = None
    author: str | None = None
    comment: str | None = None

    def matches(self, rule: str, pipeline: str | None, at: float) -> bool:
        """Whether it covers an alert of ``rule`` and ``pipeline`` at ``at``."""
        return (
            self.created_at <= at < self.ends_at
            and (self.rule is None or self.rule == rule)
            and (self.pipeline is None or self.pipeline == pipeline)
        )


_MEMORY: weakref.WeakKeyDictionary[InMemoryRunHistory, sa.Engine] = (
    weakref.WeakKeyDictionary()
)
_MEMORY_LOCK = threading.Lock()


def _memory_engine(history: InMemoryRunHistory) -> sa.Engine:
    with _MEMORY_LOCK:
        engine = _MEMORY.get(history)
        if engine is None:
            engine = sa.create_engine(
                "sqlite://",
                poolclass=StaticPool,
                connect_args={"check_same_thread": False},
            )
            with engine.begin() as conn:
                for table in (s.ALERTS, s.ALERT_EVENTS, s.ALERT_SILENCES):
                    table.create(conn)
            _MEMORY[history] = engine
        return engine


def _text(value: str | None) -> str | None:
    return None if value is None else redact_text(value)


class AlertStore:
    """The alert history of a run history.

    Args:
        history: The run history (SQLite, PostgreSQL or in memory).

    Raises:
        RunHistoryError: The store is of a kind that keeps no alert tables.
    """

    def __init__(self, history: BaseRunHistory) -> None:
        """Wrap ``history``."""
        if not isinstance(history, SqlRunHistory | InMemoryRunHistory):
            msg = f"The run history {history!r} cannot store alerts"
            raise RunHistoryError(
                msg, hint="use a SQLite, PostgreSQL or in-memory run history"
            )
        self.history = history
        # In-memory stores serialise their writes here (SQLite takes a lock).
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """The class and the store."""
        return f"AlertStore({self.history!r})"

    # ----------------------------------------------------------- plumbing
    def _engine(self) -> sa.Engine:
        if isinstance(self.history, SqlRunHistory):
            return self.history.engine
        return _memory_engine(self.history)

    def _run(self, action: str, function: Callable[..., Any], *args: Any) -> Any:
        # The store's own wrapper: migrates a lazy store first and turns the
        # backend's errors into RunHistoryError.
        history = self.history
        if isinstance(history, SqlRunHistory):
            return history._call(action, function, *args)  # noqa: SLF001 - same package
        try:
            with self._lock:
                return function(*args)
        except sa.exc.SQLAlchemyError as exc:  # pragma: no cover - in-memory SQLite
            raise history._wrap(action, exc) from exc  # noqa: SLF001 - same package

    def _write(self, function: Callable[[sa.Connection], Any]) -> Any:
        def run() -> Any:
            history = self.history
            begin = (
                history._begin_write  # noqa: SLF001 - the store's write transaction
                if isinstance(history, SqlRunHistory)
                else self._engine().begin
            )
            with begin() as conn:
                return function(conn)

        return self._run("write to", run)

    def _read(self, query: sa.Select[Any]) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            with self._engine().connect() as conn:
                return [dict(r._mapping) for r in conn.execute(query)]  # noqa: SLF001

        result: list[dict[str, Any]] = self._run("read from", run)
        return result

    # -------------------------------------------------------------- alerts
    def firing(self, key: str) -> AlertRecord | None:
        """The firing alert of ``key``, if any."""
        table = s.ALERTS
        rows = self._read(
            sa.select(table)
            .where(table.c.key == key, table.c.state == "firing")
            .order_by(table.c.id.desc())
            .limit(1)
        )
        return _alert(rows[0]) if rows else None

    def last(self, key: str) -> AlertRecord | None:
        """The latest alert of ``key`` (firing or resolved), if any."""
        table = s.ALERTS
        rows = self._read(
            sa.select(table)
            .where(table.c.key == key)
            .order_by(table.c.id.desc())
            .limit(1)
        )
        return _alert(rows[0]) if rows else None

    def get(self, alert_id: int) -> AlertRecord:
        """The alert ``alert_id``.

        Raises:
            RunHistoryError: No such alert.
        """
        table = s.ALERTS
        rows = self._read(sa.select(table).where(table.c.id == alert_id))
        if not rows:
            msg = f"No alert {alert_id!r} in the run history {self.history.url!r}"
            raise RunHistoryError(msg, hint="list them with 'pysetl alerts list'")
        return _alert(rows[0])

    def open(self, values: Mapping[str, Any]) -> AlertRecord:
        """Record a new firing alert (``values``: its columns but ``id``)."""
        row = {
            "state": "firing",
            "labels": {},
            "details": {},
            "ended_at": None,
            "last_notified_at": None,
            **values,
        }
        row["summary"] = redact_text(row["summary"])
        row["description"] = redact_text(row["description"])
        row["labels"] = redact_value(dict(row["labels"]))
        row["details"] = redact_value(dict(row["details"]))

        def insert(conn: sa.Connection) -> int:
            key = conn.execute(s.ALERTS.insert().values(**row)).inserted_primary_key
            return int(key[0]) if key is not None else 0

        return _alert({**row, "id": self._write(insert)})

    def update(self, alert_id: int, **values: Any) -> None:
        """Change columns of the alert ``alert_id`` (texts are redacted)."""
        for name in ("summary", "description"):
            if name in values:
                values[name] = redact_text(values[name])
        if "details" in values:
            values["details"] = redact_value(dict(values["details"]))
        table = s.ALERTS
        self._write(
            lambda conn: conn.execute(
                table.update().where(table.c.id == alert_id).values(**values)
            )
        )

    def list_alerts(
        self,
        *,
        state: str | None = None,
        rule: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[AlertRecord]:
        """Alerts, newest first, optionally in one state or of one rule."""
        table = s.ALERTS
        limit, after = check_limit(limit), check_cursor(cursor)
        query = sa.select(table).order_by(table.c.id.desc()).limit(limit + 1)
        if state is not None:
            query = query.where(table.c.state == state)
        if rule is not None:
            query = query.where(table.c.rule == rule)
        if after is not None:
            query = query.where(table.c.id < after)
        rows = self._read(query)
        return _page([_alert(r) for r in rows], limit)

    # -------------------------------------------------------------- events
    def add_event(
        self,
        alert_id: int,
        kind: str,
        *,
        ts: float,
        notifier: str | None = None,
        run_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Record that ``kind`` happened to the alert ``alert_id``."""
        if kind not in ALERT_EVENT_KINDS:
            msg = f"Unknown alert event {kind!r}; expected one of {ALERT_EVENT_KINDS}"
            raise RunHistoryError(msg)
        row = {
            "alert_id": alert_id,
            "ts": ts,
            "kind": kind,
            "notifier": notifier,
            "run_id": run_id,
            "detail": _text(detail),
        }
        self._write(lambda conn: conn.execute(s.ALERT_EVENTS.insert().values(**row)))

    def list_events(
        self,
        *,
        alert_id: int | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[AlertEventRecord]:
        """Alert events, newest first, optionally of one alert."""
        table = s.ALERT_EVENTS
        limit, after = check_limit(limit), check_cursor(cursor)
        query = sa.select(table).order_by(table.c.id.desc()).limit(limit + 1)
        if alert_id is not None:
            query = query.where(table.c.alert_id == alert_id)
        if after is not None:
            query = query.where(table.c.id < after)
        return _page([AlertEventRecord(**r) for r in self._read(query)], limit)

    def count_events(self, kind: str, *, notifier: str, since: float) -> int:
        """How many ``kind`` events ``notifier`` has had since ``since``."""
        table = s.ALERT_EVENTS
        query = sa.select(sa.func.count()).where(
            table.c.kind == kind, table.c.notifier == notifier, table.c.ts >= since
        )

        def run() -> int:
            with self._engine().connect() as conn:
                return int(conn.execute(query).scalar() or 0)

        result: int = self._run("read from", run)
        return result

    # ------------------------------------------------------------ silences
    def add_silence(
        self,
        *,
        created_at: float,
        ends_at: float,
        rule: str | None = None,
        pipeline: str | None = None,
        author: str | None = None,
        comment: str | None = None,
    ) -> SilenceRecord:
        """Silence the alerts of ``rule`` and/or ``pipeline`` until ``ends_at``."""
        row: dict[str, Any] = {
            "created_at": created_at,
            "ends_at": ends_at,
            "rule": rule,
            "pipeline": pipeline,
            "author": _text(author),
            "comment": _text(comment),
        }

        def insert(conn: sa.Connection) -> int:
            key = conn.execute(
                s.ALERT_SILENCES.insert().values(**row)
            ).inserted_primary_key
            return int(key[0]) if key is not None else 0

        return SilenceRecord(id=self._write(insert), **row)

    def silences(self, *, active_at: float | None = None) -> list[SilenceRecord]:
        """The silences (those active at ``active_at`` when given), newest first."""
        table = s.ALERT_SILENCES
        query = sa.select(table).order_by(table.c.id.desc()).limit(500)
        if active_at is not None:
            query = query.where(
                table.c.created_at <= active_at, table.c.ends_at > active_at
            )
        return [SilenceRecord(**r) for r in self._read(query)]

    def end_silence(self, silence_id: int, *, at: float) -> bool:
        """End the silence ``silence_id`` at ``at``; whether it was active."""
        table = s.ALERT_SILENCES

        def end(conn: sa.Connection) -> int:
            result = conn.execute(
                table.update()
                .where(table.c.id == silence_id, table.c.ends_at > at)
                .values(ends_at=at)
            )
            return int(result.rowcount)

        return bool(self._write(end))


def _alert(row: Mapping[str, Any]) -> AlertRecord:
    return AlertRecord(
        id=int(row["id"]),
        key=row["key"],
        rule=row["rule"],
        state=row["state"],
        severity=row["severity"],
        summary=row["summary"],
        description=row["description"],
        started_at=float(row["started_at"]),
        updated_at=float(row["updated_at"]),
        pipeline=row.get("pipeline"),
        factory=row.get("factory"),
        run_id=row.get("run_id"),
        labels=dict(row.get("labels") or {}),
        details=dict(row.get("details") or {}),
        ended_at=row.get("ended_at"),
        last_notified_at=row.get("last_notified_at"),
    )


def _page(items: list[Any], limit: int) -> Page[Any]:
    more = len(items) > limit
    items = items[:limit]
    return Page(tuple(items), str(items[-1].id) if more else None)
