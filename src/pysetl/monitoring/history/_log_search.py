"""The text filter of a log search, through the full-text index when there is one.

A search for ``text`` finds the lines whose message holds it, in any case
(``ILIKE '%text%'``). Without an index that is a scan of every line of the
run, which costs as much for a text found once in 200,000 lines as for one
found nowhere. Migration 7 adds the indexes:

* **SQLite**: ``pysetl_logs_fts``, an FTS5 table of the messages' trigrams.
  A search of 3 characters or more walks the index's matches in id order,
  bounded by the run's first and last line ids (read from the
  ``(run_id, id)`` index), and joins each to its line; the ``LIKE`` stays as
  the exact test (the trigram phrase finds every line that holds the text,
  and a few more when case folding differs). A page of a rare text reads
  its few matches; a common text stops at the page's end, as a scan did.
* **PostgreSQL**: a GIN trigram index (``pg_trgm``) on the message, which
  the planner uses for ``ILIKE`` when it pays; nothing changes in the query.

Shorter texts, and stores without the index (SQLite built without FTS5, a
PostgreSQL server without ``pg_trgm``), scan as before.

Added in 0.6.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pysetl.monitoring.history import _schema as s
from pysetl.monitoring.history._sql_rows import escape_like

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MIN_INDEXED", "has_fts", "with_text"]

MIN_INDEXED = 3
"""The shortest text the trigram index can find (shorter ones scan)."""

_FTS = sa.table(s.LOGS_FTS, sa.column("rowid"), sa.column("message"))


def has_fts(conn: sa.Connection) -> bool:
    """Whether the SQLite store on ``conn`` has the full-text table."""
    found = conn.execute(
        sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"),
        {"n": s.LOGS_FTS},
    ).first()
    return found is not None


def _phrase(text: str) -> str:
    """``text`` as one FTS5 string (a phrase of its trigrams: a substring)."""
    return '"' + text.replace('"', '""') + '"'


def with_text(
    query: sa.Select[Any],
    text: str,
    *,
    run_id: str | None,
    after: int | None,
    fts: Callable[[], bool],
) -> sa.Select[Any]:
    """``query`` (lines ordered by id) narrowed to those whose message holds ``text``.

    Args:
        query: The search's query over ``pysetl_logs`` (other filters set).
        text: The text searched for.
        run_id: The run searched, if one (bounds the index walk).
        after: The cursor's line id, if any.
        fts: Whether the store has the SQLite full-text table (asked only
            for SQLite and a text the index can find).
    """
    c = s.LOGS.c
    query = query.where(c.message.ilike(f"%{escape_like(text)}%", escape="\\"))
    if len(text) < MIN_INDEXED or not fts():
        return query
    rowid = _FTS.c.rowid
    query = (
        query.join(_FTS, rowid == c.id)
        .where(_FTS.c.message.op("MATCH")(_phrase(text)))
        .order_by(None)
        .order_by(rowid)
    )
    if after is not None:
        query = query.where(rowid > after)
    if run_id is not None:
        lines = s.LOGS.alias("run_lines")
        first = sa.select(sa.func.min(lines.c.id)).where(lines.c.run_id == run_id)
        last = sa.select(sa.func.max(lines.c.id)).where(lines.c.run_id == run_id)
        query = query.where(
            rowid >= first.scalar_subquery(), rowid <= last.scalar_subquery()
        )
    return query
