"""What the root ``pysetl`` callback hands to every sub-command.

Kept apart from ``__main__`` so that sub-command modules (``ui``,
``config``) can read it without importing the module that imports them.

Added in 0.2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

    from pysetl.monitoring.history import BaseRunHistory

__all__ = ["CliState", "open_history_of"]


@dataclass
class CliState:
    """The root options: the history URL and whether debug output is on."""

    history_url: str | None
    debug: bool


def open_history_of(ctx: typer.Context) -> BaseRunHistory:
    """Open the run history that the root ``--history`` option names."""
    from pysetl.monitoring.history import open_history  # noqa: PLC0415 - lazy

    state = ctx.find_object(CliState)
    return open_history(state.history_url if state else None)
