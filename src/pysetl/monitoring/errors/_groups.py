"""Groups of failures by fingerprint: how often, since when, where, and the trend.

Everything is computed when read, from the failures the run history keeps
(``BaseRunHistory.list_failures``): nothing is stored, so a history written
by an older pysetl is grouped like a new one, and a change of the
normalisation rules applies to the whole history at once. The failures are
read a page at a time (never the whole history in memory) through the
index of the runs' start time; ``since`` bounds the work.

Added in 0.5.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from pysetl.errors import RunHistoryError
from pysetl.monitoring.errors._fingerprint import ErrorSignature, signature_of
from pysetl.monitoring.history import MAX_LIMIT, FailureRecord, RunStatus

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pysetl.monitoring.history import BaseRunHistory

__all__ = [
    "DEFAULT_GROUPS",
    "MAX_TREND_DAYS",
    "DailyCount",
    "ErrorGroup",
    "ErrorOccurrence",
    "error_groups",
    "error_occurrences",
    "errors_of_run",
    "is_new_fingerprint",
]

DEFAULT_GROUPS = 50
"""How many groups ``error_groups`` returns by default."""
MAX_TREND_DAYS = 90
"""The longest trend, in days: a longer window keeps its last days."""
_SHORTEST_PREFIX = 4


@dataclass(frozen=True, slots=True)
class DailyCount:
    """How many failures of a group happened on one day (UTC)."""

    day: date
    count: int


@dataclass(frozen=True, slots=True)
class ErrorOccurrence:
    """One failure, with its group's signature.

    Attributes:
        fingerprint: Its group.
        error_class: The Spark error class, else the root cause's type.
        run_id: The run it happened in.
        pipeline: The run's pipeline.
        factory: The factory that failed, ``None`` for the run's own failure.
        attempt: The attempt number, ``None`` for the run's own failure.
        status: ``failed``, or ``crashed`` for a run whose process died.
        ts: When it failed.
        message: The root cause's message as stored (secrets masked).
        hint: Its hint, if any.
    """

    fingerprint: str
    error_class: str
    run_id: str
    pipeline: str
    factory: str | None
    attempt: int | None
    status: str
    ts: float
    message: str
    hint: str | None

    def to_dict(self) -> dict[str, Any]:
        """The occurrence as JSON-ready data."""
        return {
            "fingerprint": self.fingerprint,
            "error_class": self.error_class,
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "factory": self.factory,
            "attempt": self.attempt,
            "status": self.status,
            "ts": self.ts,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass(frozen=True, slots=True)
class ErrorGroup:
    """The failures of one fingerprint in a window of the run history.

    Attributes:
        fingerprint: The group's id (see ``fingerprint``).
        error_class: The Spark error class, else the root cause's type.
        factory: The factory that failed, ``None`` for runs' own failures.
        title: The normalised message.
        count: How many failures (every failed attempt counts).
        runs: How many runs they happened in.
        first_seen: The first failure of the window.
        last_seen: The last failure of the window.
        pipelines: The pipelines affected, by name.
        trend: The failures of each day of the window (UTC), oldest first,
            days without any included; at most ``MAX_TREND_DAYS`` days.
        last_run_id: The run of the latest failure.
        hint: The latest failure's hint, if any.
    """

    fingerprint: str
    error_class: str
    factory: str | None
    title: str
    count: int
    runs: int
    first_seen: float
    last_seen: float
    pipelines: tuple[str, ...]
    trend: tuple[DailyCount, ...]
    last_run_id: str
    hint: str | None

    def to_dict(self) -> dict[str, Any]:
        """The group as JSON-ready data (days as ISO dates)."""
        return {
            "fingerprint": self.fingerprint,
            "error_class": self.error_class,
            "factory": self.factory,
            "title": self.title,
            "count": self.count,
            "runs": self.runs,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "pipelines": list(self.pipelines),
            "trend": [{"day": d.day.isoformat(), "count": d.count} for d in self.trend],
            "last_run_id": self.last_run_id,
            "hint": self.hint,
        }


class _Tally:
    """A group while it is being counted (failures come newest first)."""

    __slots__ = ("count", "days", "first", "latest", "pipelines", "runs", "signature")

    def __init__(self, signature: ErrorSignature, latest: FailureRecord) -> None:
        self.signature = signature
        self.latest = latest
        self.first = latest.ts
        self.count = 0
        self.runs: set[str] = set()
        self.pipelines: set[str] = set()
        self.days: dict[date, int] = {}

    def add(self, failure: FailureRecord) -> None:
        self.count += 1
        self.runs.add(failure.run_id)
        self.pipelines.add(failure.pipeline)
        self.first = min(self.first, failure.ts)
        if failure.ts > self.latest.ts:
            self.latest = failure
        day = _day(failure.ts)
        self.days[day] = self.days.get(day, 0) + 1

    def group(self, days: list[date]) -> ErrorGroup:
        return ErrorGroup(
            fingerprint=self.signature.fingerprint,
            error_class=self.signature.error_class,
            factory=self.signature.factory,
            title=self.signature.title,
            count=self.count,
            runs=len(self.runs),
            first_seen=self.first,
            last_seen=self.latest.ts,
            pipelines=tuple(sorted(self.pipelines)),
            trend=tuple(DailyCount(day, self.days.get(day, 0)) for day in days),
            last_run_id=self.latest.run_id,
            hint=signature_of(self.latest).hint,
        )


def _day(ts: float) -> date:
    return datetime.fromtimestamp(ts, tz=timezone.utc).date()


def _since(since: float | timedelta | None, now: float) -> float | None:
    if isinstance(since, timedelta):
        return now - since.total_seconds()
    return since


def _failures(
    history: BaseRunHistory,
    *,
    pipeline: str | None,
    since: float | None,
    until: float | None,
) -> Iterator[FailureRecord]:
    """Every failure of the window, newest run first, a page at a time."""
    cursor: str | None = None
    while True:
        page = history.list_failures(
            pipeline=pipeline, since=since, until=until, limit=MAX_LIMIT, cursor=cursor
        )
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def error_groups(
    history: BaseRunHistory,
    *,
    since: float | timedelta | None = None,
    until: float | None = None,
    pipeline: str | None = None,
    limit: int = DEFAULT_GROUPS,
    now: float | None = None,
) -> list[ErrorGroup]:
    """The failures of a window grouped by fingerprint, latest failure first.

    Args:
        history: The run history.
        since: Only failures of runs started at or after this time (a
            timedelta: this long before ``now``); default: the whole history.
        until: Only failures of runs started before this time.
        pipeline: Only failures of runs of this pipeline.
        limit: At most this many groups (those seen last).
        now: The current time (default: ``time.time()``); the trend ends on
            its day, or on ``until``'s.

    Returns:
        The groups. ``first_seen``, ``count`` and ``trend`` cover the window
        only: use ``is_new_fingerprint`` to know whether a group was ever
        seen before it.

    Raises:
        RunHistoryError: The history cannot be read, or ``limit`` is not
            positive.
    """
    if limit < 1:
        msg = f"Cannot list {limit!r} error groups"
        raise RunHistoryError(msg, hint="give a limit of 1 or more")
    now = time.time() if now is None else now
    start = _since(since, now)
    tallies: dict[str, _Tally] = {}
    for failure in _failures(history, pipeline=pipeline, since=start, until=until):
        signature = signature_of(failure)
        tally = tallies.get(signature.fingerprint)
        if tally is None:
            tally = tallies[signature.fingerprint] = _Tally(signature, failure)
        tally.add(failure)
    if not tallies:
        return []
    first = start if start is not None else min(t.first for t in tallies.values())
    last = max(
        now if until is None else min(until, now),
        *(t.latest.ts for t in tallies.values()),
    )
    days = _days(_day(first), _day(last))
    chosen = sorted(
        tallies.values(), key=lambda t: (t.latest.ts, t.count), reverse=True
    )
    return [tally.group(days) for tally in chosen[:limit]]


def _days(first: date, last: date) -> list[date]:
    """Each day from ``first`` to ``last``, at most the last ``MAX_TREND_DAYS``."""
    first = max(first, last - timedelta(days=MAX_TREND_DAYS - 1))
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _occurrence(failure: FailureRecord, signature: ErrorSignature) -> ErrorOccurrence:
    return ErrorOccurrence(
        fingerprint=signature.fingerprint,
        error_class=signature.error_class,
        run_id=failure.run_id,
        pipeline=failure.pipeline,
        factory=failure.factory,
        attempt=failure.attempt,
        status=failure.status,
        ts=failure.ts,
        message=signature.message,
        hint=signature.hint,
    )


def error_occurrences(
    history: BaseRunHistory,
    fingerprint: str,
    *,
    since: float | timedelta | None = None,
    until: float | None = None,
    pipeline: str | None = None,
    limit: int = DEFAULT_GROUPS,
    now: float | None = None,
) -> list[ErrorOccurrence]:
    """The failures of one fingerprint, newest run first.

    Args:
        history: The run history.
        fingerprint: The group's fingerprint, or its first 4 characters or
            more when they name one group.
        since: Only failures of runs started at or after this time (a
            timedelta: this long before ``now``); default: the whole history.
        until: Only failures of runs started before this time.
        pipeline: Only failures of runs of this pipeline.
        limit: At most this many occurrences (the newest).
        now: The current time, for a ``timedelta`` ``since``.

    Returns:
        The occurrences; empty when the fingerprint has none in the window.

    Raises:
        RunHistoryError: The fingerprint is shorter than 4 characters, or
            is the start of more than one group's.
    """
    wanted = fingerprint.strip().lower()
    if len(wanted) < _SHORTEST_PREFIX:
        msg = f"Fingerprint {fingerprint!r} is too short to name an error group"
        raise RunHistoryError(
            msg, hint=f"give at least {_SHORTEST_PREFIX} of its characters"
        )
    start = _since(since, time.time() if now is None else now)
    found: list[ErrorOccurrence] = []
    for failure in _failures(history, pipeline=pipeline, since=start, until=until):
        signature = signature_of(failure)
        if signature.fingerprint.startswith(wanted):
            found.append(_occurrence(failure, signature))
            if len(found) >= limit:
                break
    groups = sorted({o.fingerprint for o in found})
    if len(groups) > 1:
        msg = f"Fingerprint {fingerprint!r} names {len(groups)} error groups"
        raise RunHistoryError(msg, hint=f"give more of it: {', '.join(groups)}")
    return found


def errors_of_run(history: BaseRunHistory, run_id: str) -> list[ErrorOccurrence]:
    """The failures of one run with their fingerprints, in the order they happened.

    The same failures as ``list_failures`` has for the run: its failed
    attempts, or, when it has none and failed or crashed, its own failure.

    Raises:
        RunHistoryError: No such run.
    """
    run = history.get_run(run_id)
    found: list[FailureRecord] = []
    cursor: str | None = None
    while True:
        page = history.list_factory_attempts(run_id, limit=MAX_LIMIT, cursor=cursor)
        found.extend(
            FailureRecord(
                run_id,
                run.started_at,
                run.pipeline,
                a.factory,
                a.attempt,
                RunStatus.FAILED,
                a.finished_at or a.started_at or run.started_at,
                a.id,
                **_error_parts(a.error),
            )
            for a in page.items
            if a.status == RunStatus.FAILED
        )
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    if not found and run.status in {RunStatus.FAILED, RunStatus.CRASHED}:
        ts = run.finished_at or run.started_at
        found.append(
            FailureRecord(
                run_id,
                run.started_at,
                run.pipeline,
                None,
                None,
                run.status,
                ts,
                **_error_parts(run.error),
            )
        )
    return [_occurrence(f, signature_of(f)) for f in found]


def _error_parts(error: dict[str, Any] | None) -> dict[str, Any]:
    """The fields of a stored error that a ``FailureRecord`` keeps."""
    error = error or {}
    return {
        "error_type": error.get("error_type") or "Error",
        "message": error.get("message") or "",
        "hint": error.get("hint"),
        "error_class": error.get("error_class"),
        "causes": tuple(error.get("causes") or ()),
    }


def is_new_fingerprint(
    history: BaseRunHistory,
    fingerprint: str,
    *,
    before: float,
    since: float | None = None,
) -> bool:
    """Whether no run started before ``before`` failed with ``fingerprint``.

    For the alert rule "new fingerprint": when a run fails, take the
    fingerprints of its failures (``errors_of_run``) and ask for each
    with ``before=run.started_at``; a ``True`` is an error never seen
    before that run (its own retries do not count, nor do runs that
    started later). Runs pruned from the history are forgotten: after
    ``pysetl runs prune``, an old error can be new again.

    Cost: failures are read newest first and the search stops at the first
    match, so a known error is found fast; a new one reads every failure
    of the runs before ``before`` (or since ``since``), a page of 1,000 at a
    time.

    Args:
        history: The run history.
        fingerprint: The full fingerprint.
        before: A run start time; only earlier runs count.
        since: Only runs started at or after this time count (default:
            the whole history).

    Added in 0.5.
    """
    for failure in _failures(history, pipeline=None, since=since, until=before):
        if signature_of(failure).fingerprint == fingerprint:
            return False
    return True
