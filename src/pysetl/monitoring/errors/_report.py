"""What ``pysetl errors`` asks: a window's error groups, or one group's failures.

``error_report`` reads the window (``7d``, ``12h``, ``all``) as an age
before ``now`` and returns it with the groups; ``group_failures`` returns a
group's failures and says what to do when it has none. The CLI only renders
them.

Added in 0.7 (the logic of ``pysetl.cli.errors_cmd``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pysetl.errors import RunHistoryError
from pysetl.monitoring.errors._groups import (
    DEFAULT_GROUPS,
    ErrorGroup,
    ErrorOccurrence,
    error_groups,
    error_occurrences,
)

if TYPE_CHECKING:
    from datetime import timedelta

    from pysetl.monitoring.history import BaseRunHistory

__all__ = [
    "ALL",
    "ErrorReport",
    "error_report",
    "group_failures",
    "window_start",
]

ALL = "all"
"""The window of the whole history."""


def window_start(since: str | timedelta | None, now: float) -> float | None:
    """The start of the window ``since`` before ``now``: ``None`` for ``all``.

    Raises:
        RunHistoryError: ``since`` is not an age (``7d``, ``12h``, ``2w``).
    """
    from pysetl.monitoring.runs import parse_age  # noqa: PLC0415 - one way down

    if since is None or since == ALL:
        return None
    return now - parse_age(since).total_seconds()


@dataclass(frozen=True, slots=True)
class ErrorReport:
    """A window's error groups.

    Attributes:
        start: When the window starts (``None``: the whole history).
        groups: The groups, latest failure first.
    """

    start: float | None
    groups: list[ErrorGroup]


def error_report(
    history: BaseRunHistory,
    *,
    since: str | timedelta | None,
    pipeline: str | None = None,
    limit: int = DEFAULT_GROUPS,
    now: float | None = None,
) -> ErrorReport:
    """The error groups of the window ``since`` (an age, or ``all``/``None``).

    Raises:
        RunHistoryError: ``since`` is not an age; the history cannot be read.
    """
    now = time.time() if now is None else now
    start = window_start(since, now)
    groups = error_groups(history, since=start, pipeline=pipeline, limit=limit, now=now)
    return ErrorReport(start, groups)


def group_failures(
    history: BaseRunHistory,
    fingerprint: str,
    *,
    since: str | timedelta | None = None,
    pipeline: str | None = None,
    limit: int = DEFAULT_GROUPS,
    now: float | None = None,
) -> list[ErrorOccurrence]:
    """The failures of one group in the window ``since``, newest first.

    Raises:
        RunHistoryError: No failure has this fingerprint in the window (the
            hint says how to list the groups); the fingerprint is too short
            or names several groups; the history cannot be read.
    """
    now = time.time() if now is None else now
    found = error_occurrences(
        history,
        fingerprint,
        since=window_start(since, now),
        pipeline=pipeline,
        limit=limit,
        now=now,
    )
    if not found:
        msg = f"No failure has the fingerprint {fingerprint!r}"
        raise RunHistoryError(
            msg, hint="list the error groups with 'pysetl errors --since all'"
        )
    return found
