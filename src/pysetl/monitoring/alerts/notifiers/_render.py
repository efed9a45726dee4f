"""Texts shared by the notifiers: titles, timestamps and the facts of an alert.

Every channel shows the same things in its own markup: a title for the
batch, and for each alert its state, severity, summary, description and
facts (pipeline, factory, run id, error class, hint, times) with a link to
the run in the dashboard.

Added in 0.5.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pysetl.monitoring.alerts._notify import AlertMessage

__all__ = ["batch_status", "facts", "headline", "iso_time", "shorten", "title"]


def iso_time(epoch: float) -> str:
    """``epoch`` seconds as RFC 3339 UTC, to the millisecond (``...T10:00:00.250Z``)."""
    moment = dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending with ``…`` when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def batch_status(messages: Sequence[AlertMessage]) -> str:
    """``firing`` if any alert of the batch fires, else ``resolved``."""
    return "firing" if any(m.state == "firing" for m in messages) else "resolved"


def title(messages: Sequence[AlertMessage]) -> str:
    """One line for a batch: ``[FIRING:2] <first summary> (+1 more)``."""
    firing = sum(m.state == "firing" for m in messages)
    resolved = len(messages) - firing
    counts = []
    if firing:
        counts.append("FIRING" if len(messages) == 1 else f"FIRING:{firing}")
    if resolved:
        counts.append("RESOLVED" if len(messages) == 1 else f"RESOLVED:{resolved}")
    more = f" (+{len(messages) - 1} more)" if len(messages) > 1 else ""
    return f"[{' '.join(counts)}] {messages[0].summary}{more}"


def headline(message: AlertMessage) -> str:
    """``FIRING · critical · <summary>`` for one alert."""
    return f"{message.state.upper()} \u00b7 {message.severity} \u00b7 {message.summary}"


def facts(message: AlertMessage) -> list[tuple[str, str]]:
    """The known facts of one alert, as ``(label, value)`` pairs, in a fixed order."""
    found = [
        ("Rule", message.rule),
        ("Pipeline", message.pipeline),
        ("Factory", message.factory),
        ("Run", message.run_id),
        ("Error", message.error_class),
        ("Hint", message.hint),
        ("Started", iso_time(message.started_at)),
        (
            "Resolved",
            None if message.ended_at is None else iso_time(message.ended_at),
        ),
    ]
    return [(label, value) for label, value in found if value]
