"""Argument checks shared by every run history store (one message each)."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

from pysetl.errors import RunHistoryError
from pysetl.monitoring.history.records import LEVELS, STATUSES
from pysetl.settings import settings

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "MAX_LIMIT",
    "check_cursor",
    "check_level",
    "check_limit",
    "check_run_ids",
    "check_status",
    "pid_alive",
    "this_host",
]

MAX_LIMIT = 1000
"""The largest page any query returns."""


def this_host() -> str:
    """The host name runs of this process are recorded under.

    ``PYSETL_HOST`` when set (several containers on one machine, or one
    name per worker), else the machine's name. Added in 0.6.
    """
    return settings().host or socket.gethostname()


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def check_limit(limit: int) -> int:
    """``limit`` if it is a valid page size."""
    if not 1 <= limit <= MAX_LIMIT:
        msg = f"Page size {limit!r} is out of range"
        raise RunHistoryError(msg, hint=f"give a limit from 1 to {MAX_LIMIT}")
    return limit


def check_cursor(cursor: str | None) -> int | None:
    """The row id in a cursor of an id-ordered query."""
    if cursor is None:
        return None
    try:
        return int(cursor)
    except ValueError:
        msg = f"Cursor {cursor!r} is not a cursor of this query"
        raise RunHistoryError(
            msg, hint="pass the next_cursor of the previous page"
        ) from None


def check_status(status: str) -> None:
    """Refuse an unknown run status."""
    if status not in STATUSES:
        msg = f"Unknown run status {status!r}"
        raise RunHistoryError(msg, hint=f"use one of {', '.join(STATUSES)}")


def check_level(level: str | int) -> int:
    """The number of a log level given by name or number."""
    if isinstance(level, int):
        return level
    number = LEVELS.get(level.upper())
    if number is None:
        msg = f"Unknown log level {level!r}"
        raise RunHistoryError(msg, hint=f"use one of {', '.join(LEVELS)}")
    return number


def check_run_ids(run_ids: Sequence[str]) -> tuple[str, ...]:
    """``run_ids`` without repeats, if there are at most ``MAX_LIMIT``."""
    ids = tuple(dict.fromkeys(run_ids))
    if len(ids) > MAX_LIMIT:
        msg = f"Cannot query {len(ids)!r} runs at once"
        raise RunHistoryError(msg, hint=f"ask for at most {MAX_LIMIT} runs a call")
    return ids
