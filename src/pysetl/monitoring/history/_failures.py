"""The order and the cursors of ``list_failures``, the same in every store.

Failures sort by run start time, run id and attempt row id, descending; a
page's cursor is the key of its last failure, as text.

Added in 0.5 (in ``_base``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pysetl.errors import RunHistoryError

if TYPE_CHECKING:
    from pysetl.monitoring.history.records import FailureRecord

__all__ = ["FailureKey", "check_failure_cursor", "failure_cursor", "failure_key"]

FailureKey = tuple[float, str, int]
"""The order of ``list_failures``: run start time, run id, attempt row id."""


def failure_key(failure: FailureRecord) -> FailureKey:
    """Where ``failure`` sorts in ``list_failures`` (which is descending)."""
    return failure.started_at, failure.run_id, failure.id


def failure_cursor(failure: FailureRecord) -> str:
    """The cursor of the page of failures that ends with ``failure``."""
    return f"{failure.started_at!r}:{failure.run_id}:{failure.id}"


def check_failure_cursor(cursor: str | None) -> FailureKey | None:
    """The ``failure_key`` of a ``list_failures`` cursor."""
    if cursor is None:
        return None
    at, _, rest = cursor.partition(":")
    run_id, _, number = rest.rpartition(":")
    try:
        started = float(at)
    except ValueError:
        started = None
    if started is not None and run_id and number.isdigit():
        return started, run_id, int(number)
    msg = f"Cursor {cursor!r} is not a cursor of this query"
    raise RunHistoryError(msg, hint="pass the next_cursor of the previous page")
