"""What the root ``pysetl`` callback hands to every sub-command.

Kept apart from ``__main__`` so that sub-command modules (``ui``,
``config``) can read it without importing the module that imports them.

Added in 0.2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging

    import typer

    from pysetl.monitoring.history import BaseRunHistory

__all__ = ["READ_ONLY_COMMANDS", "CliState", "open_history_of"]


@dataclass
class CliState:
    """The root options: the history URL, debug, and the console log handlers.

    Attributes:
        history_url: The ``--history`` option (or ``PYSETL_HISTORY_URL``).
        debug: Whether debug output is on.
        log_handlers: The handlers the root callback put on the root logger.
        log_level_set: Whether the user chose a log level (``--log-level``
            or ``PYSETL_LOG_LEVEL``); commands with their own output (``run``)
            keep the console quieter otherwise.
        spark_log_level: Spark's log4j level asked for on the command line
            (``--verbose``: ``INFO``), else ``None`` (``PYSETL_SPARK_LOG_LEVEL``,
            else ``WARN``).
    """

    history_url: str | None
    debug: bool
    log_handlers: tuple[logging.Handler, ...] = ()
    log_level_set: bool = False
    spark_log_level: str | None = None


READ_ONLY_COMMANDS = frozenset({"ui"})
"""Commands that only read the history, besides ``runs`` and ``logs`` (which say so)."""


def open_history_of(
    ctx: typer.Context, *, create: bool | None = None
) -> BaseRunHistory:
    """Open the run history that the root ``--history`` option names.

    ``create=False`` opens an existing history only: no folder, database
    file or table is created (``open_history``). By default, commands named
    in ``READ_ONLY_COMMANDS`` open it so, and the others may create it.
    """
    from pysetl.monitoring.history import open_history  # noqa: PLC0415 - lazy

    if create is None:
        create = ctx.info_name not in READ_ONLY_COMMANDS
    state = ctx.find_object(CliState)
    return open_history(state.history_url if state else None, create=create)
