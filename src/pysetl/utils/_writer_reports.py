"""How the writer reports failures: the first of a key at once, later ones summed.

A broken store cannot flood the logs: a key's first failure is logged at
ERROR with its traceback, later ones at most once every report interval
with a count and the last error (see ``pysetl.utils.writer``).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field

__all__ = ["FailureReports", "current_error", "name_of"]

# The writer's logger: its log lines kept their name when this moved.
_LOGGER = logging.getLogger("pysetl.utils.writer")


@dataclass
class FailureReports:
    """Failures per key, and when each key was last logged."""

    counts: dict[str, int] = field(default_factory=dict)
    last_logged: dict[str, float] = field(default_factory=dict)
    unreported: dict[str, int] = field(default_factory=dict)
    last_error: dict[str, str] = field(default_factory=dict)

    def failed(self, key: str, items: int, interval: float) -> None:
        """Count a failure of ``key`` that lost ``items``, and log it if due.

        The first failure of a key is logged at ERROR with its traceback
        (called from an ``except`` clause, so it is there); later ones at
        most once every ``interval`` seconds, with a count and the last error.
        """
        count = self.counts[key] = self.counts.get(key, 0) + 1
        error = current_error()
        if error:
            self.last_error[key] = error
        else:  # a batch of a sink that is down, dropped without a try
            error = self.last_error.get(key, "")
        now = time.monotonic()
        last = self.last_logged.get(key)
        if last is None:
            self.last_logged[key] = now
            _LOGGER.error(  # called from an except clause: the traceback is there
                "pysetl observer %s failed (%d item(s) lost); the run goes on; "
                "further failures are reported at most every %.0f s",
                key,
                items,
                interval,
                exc_info=sys.exc_info(),
            )
            return
        self.unreported[key] = self.unreported.get(key, 0) + 1
        if now - last >= interval:
            self.last_logged[key] = now
            _LOGGER.error(
                "pysetl observer %s failed %d more time(s) (%d in all); last error: %s",
                key,
                self.unreported.pop(key),
                count,
                error,
            )


def current_error() -> str:
    """``Type: message`` of the exception being handled (empty if none)."""
    error = sys.exc_info()[1]
    return "" if error is None else f"{type(error).__name__}: {error}"


def name_of(thing: object) -> str:
    """The key a function or sink is counted and logged under."""
    name = getattr(thing, "writer_key", None)
    if isinstance(name, str):
        return name
    qualname = getattr(thing, "__qualname__", None)
    if isinstance(qualname, str):
        return qualname
    return type(thing).__name__
