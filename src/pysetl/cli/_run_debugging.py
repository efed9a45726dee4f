"""What ``pysetl runs show`` prints about debugging: skipped factories, samples.

A run that read stages back from a checkpoint (``--resume``, ``--only``,
``--from-stage``) has an ``on_factory_skipped`` event per factory it did not
run, with the reason; a run with ``--sample`` has a ``factory_sample`` event
per factory with a few rows, redacted here. Both tables are printed only
when the run has such events (``pysetl.monitoring.runs.run_details`` reads
them).

Added in 0.6. Changed in 0.7: it renders the events it is given.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table
from rich.text import Text

from pysetl.utils.redaction import redact_text, redact_value

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.console import Console

    from pysetl.monitoring.history import EventRecord

__all__ = ["print_run_debugging"]

_CELL = 200  # characters of a sampled value shown in a cell


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _CELL else text[:_CELL] + "..."


def print_run_debugging(
    out: Console, skipped: Sequence[EventRecord], samples: Sequence[EventRecord]
) -> None:
    """Print the run's skipped factories and output samples (if any)."""
    if skipped:
        table = Table(
            title="Skipped factories", title_justify="left", box=box.SIMPLE_HEAD
        )
        for column in ("stage", "factory", "reason"):
            table.add_column(column, overflow="fold")
        for event in skipped:
            table.add_row(
                str(event.stage_id),
                event.factory or "-",
                redact_text(str(event.data.get("reason", ""))),
            )
        out.print(table)
    if not samples:
        return
    out.print(Text("Output samples (redacted)", style="bold"))
    for event in samples:
        rows = redact_value(event.data.get("rows") or [])
        out.print(Text(f"{event.factory} (stage {event.stage_id}), {len(rows)} rows"))
        columns = list(
            dict.fromkeys(k for row in rows if isinstance(row, dict) for k in row)
        )
        table = Table(box=box.SIMPLE_HEAD)
        for column in columns or ["value"]:
            table.add_column(column, overflow="fold")
        for row in rows:
            cells = [row.get(c) for c in columns] if columns else [row]
            table.add_row(*(Text(redact_text(_cell(c))) for c in cells))
        out.print(table)
