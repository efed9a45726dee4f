"""What the root ``pysetl`` callback hands to every sub-command.

Kept apart from ``__main__`` so that sub-command modules (``ui``,
``config``) can read it without importing the module that imports them.
The root callback reads the ``PYSETL_*`` settings once and hands them down
here (``CliState.settings``, ``cli_settings(ctx)``).

Added in 0.2. Changed in 0.7: ``settings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pysetl.settings import Settings, settings

if TYPE_CHECKING:
    import logging

    import typer

    from pysetl.monitoring.history import BaseRunHistory

__all__ = ["READ_ONLY_COMMANDS", "CliState", "cli_settings", "open_history_of"]


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
        settings: The ``PYSETL_*`` settings, read once by the root callback
            (``None``: not read yet; added in 0.7).
    """

    history_url: str | None
    debug: bool
    log_handlers: tuple[logging.Handler, ...] = ()
    log_level_set: bool = False
    spark_log_level: str | None = None
    settings: Settings | None = None


def cli_settings(ctx: typer.Context) -> Settings:
    """The settings the root callback read (``settings()`` when it did not run)."""
    state = ctx.find_object(CliState)
    if state is not None and state.settings is not None:
        return state.settings
    return settings()


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
