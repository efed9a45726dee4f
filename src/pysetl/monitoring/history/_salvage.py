"""What a SQL store does with a batch the database rejects for its values.

A batch is one transaction: one value the database cannot take (a NUL
character in PostgreSQL text, a lone surrogate that cannot be encoded as
UTF-8, a row that breaks a UNIQUE constraint) would lose every row of it:
a whole run could vanish from the history for one odd log line. So, only
when a batch fails for its values (``REJECTED``; an unreachable or locked
store fails the batch as before, for the writer to retry):

1. every text of the batch is made storable (``clean``) and the batch is
   tried again, whole;
2. if it still fails, it is written in halves, recursively, down to single
   rows; a single row that still fails is dropped and counted.

``clean`` turns NUL and lone surrogates into U+FFFD (the replacement
character) and cuts texts longer than ``MAX_TEXT`` characters, with a marker
saying how much was cut. The happy path never calls it: a batch that
succeeds is written as it came (log messages longer than ``MAX_TEXT`` are
cut when packed, a cheap length check).

Added in 0.5.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from pysetl.monitoring.history._sql_rows import INSERTS
from pysetl.monitoring.history.ops import MAX_TEXT, cut
from pysetl.utils.redaction import redact_text

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "MAX_TEXT",
    "REJECTED",
    "REPORT_INTERVAL",
    "Rejections",
    "clean",
    "clean_item",
    "clean_row",
    "cut",
]

REJECTED: tuple[type[Exception], ...] = (
    sa_exc.DataError,  # PostgreSQL: NUL in text, a value out of range
    sa_exc.IntegrityError,  # a UNIQUE or NOT NULL constraint
    sa_exc.ProgrammingError,  # SQLite: a value of a type it cannot bind
    UnicodeError,  # a lone surrogate, raised by the driver before SQL runs
    ValueError,  # a driver refusing a value (psycopg: NUL in a string)
    OverflowError,  # an int too big for the driver
)
"""Errors of a batch that the database rejects for its values, not its state."""

REPORT_INTERVAL = 60.0
"""Seconds between two warnings about rejected batches of one store."""
_LOGGER = logging.getLogger(__name__)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_JSON = json.JSONEncoder(separators=(",", ":"))


def clean(value: Any) -> Any:
    """``value`` with every text storable: see the module docstring.

    Dicts (keys too), lists and tuples are cleaned through; other values
    are returned as they are.
    """
    if isinstance(value, str):
        return cut(_UNSTORABLE.sub("\ufffd", value))
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(clean(v) for v in value)
    return value


def _clean_json(text: str | None) -> str | None:
    """A JSON column's text with its strings cleaned (escaped NULs too)."""
    if text is None:
        return None
    try:
        decoded = json.loads(text)
    except ValueError:  # not ours to parse: store it as plain text, cleaned
        return _JSON.encode(clean(text))
    return _JSON.encode(clean(decoded))


def _json_positions(code: str) -> frozenset[int]:
    table, names = INSERTS[code]
    return frozenset(
        i for i, name in enumerate(names) if isinstance(table.c[name].type, sa.JSON)
    )


_JSON_POSITIONS = {code: _json_positions(code) for code in INSERTS}
# Packed finishes: "A" (attempt) holds phases and error, "S" (stage) error.
_FINISH_JSON = {"A": frozenset({8, 10}), "S": frozenset({6})}


def clean_row(code: str, row: Sequence[Any]) -> tuple[Any, ...]:
    """A packed row of insert ``code`` (its values only) with its texts cleaned."""
    json_at = _JSON_POSITIONS[code]
    return tuple(
        _clean_json(v) if i in json_at else clean(v) for i, v in enumerate(row)
    )


def clean_item(item: object) -> object:
    """An update of a batch (a packed finish or an operation), cleaned."""
    if item.__class__ is tuple:
        row: tuple[Any, ...] = item
        json_at = _FINISH_JSON.get(row[0], frozenset())
        return tuple(
            _clean_json(v) if i in json_at else clean(v) for i, v in enumerate(row)
        )
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        changes = {
            f.name: clean(getattr(item, f.name)) for f in dataclasses.fields(item)
        }
        return dataclasses.replace(item, **changes)
    return item


class Rejections:
    """Counts the salvaged batches of a store and warns about them, at a low rate.

    The first salvaged batch is logged at WARNING; later ones at most once
    every ``interval`` seconds, with the counts since.

    Attributes:
        batches: Batches rejected whole and written apart.
        rows: Rows that could not be stored, even cleaned, and were dropped.
    """

    def __init__(self, interval: float = REPORT_INTERVAL) -> None:
        """Start with nothing counted."""
        self.interval = interval
        self.batches = 0
        self.rows = 0
        self._lock = threading.Lock()
        self._last: float | None = None
        self._since = (0, 0)

    def report(self, error: Exception, lost: int, where: str) -> None:
        """Count a salvaged batch of the store ``where`` that lost ``lost`` rows."""
        now = time.monotonic()
        with self._lock:
            self.batches += 1
            self.rows += lost
            batches, rows = self._since[0] + 1, self._since[1] + lost
            if self._last is not None and now - self._last < self.interval:
                self._since = (batches, rows)
                return
            self._last, self._since = now, (0, 0)
        lines = str(error).strip().splitlines()
        detail = redact_text(lines[0]) if lines else ""
        _LOGGER.warning(
            "pysetl run history %s rejected %d batch(es) (%s: %s); they were "
            "written row by row with odd text made storable; %d row(s) could "
            "not be stored and were dropped (%d in all)",
            where,
            batches,
            type(error).__name__,
            detail,
            rows,
            self.rows,
        )
