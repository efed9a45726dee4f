"""``open_history()``: find and open the run history of the current project.

Where the history lives, first match wins:

1. the ``url`` argument (the CLI's ``--history``);
2. the environment variable ``PYSETL_HISTORY_URL`` (read through
   :func:`pysetl.settings.settings`, like every process setting);
3. ``.pysetl/history.db`` (SQLite) in the project folder: the nearest
   folder, from the working directory up, that holds a ``.pysetl`` folder or
   a ``pyproject.toml``; the working directory if none does.

A URL starting with ``postgresql`` opens a ``PostgresRunHistory``, ``sqlite``
(or a plain file path) a ``SqliteRunHistory``, ``memory://`` an empty
``InMemoryRunHistory``; any other SQLAlchemy URL a ``SqlRunHistory``.

Added in 0.2. Changed in 0.4: the variable is read through ``pysetl.settings``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pysetl.monitoring.history._memory import InMemoryRunHistory
from pysetl.monitoring.history._postgres import PostgresRunHistory
from pysetl.monitoring.history._sql import SqlRunHistory
from pysetl.monitoring.history._sqlite import SqliteRunHistory
from pysetl.settings import settings

if TYPE_CHECKING:
    import os

    from pysetl.monitoring.history._base import BaseRunHistory

__all__ = [
    "DEFAULT_FILE",
    "HISTORY_URL_ENV",
    "default_history_path",
    "find_project_dir",
    "open_history",
]

HISTORY_URL_ENV = "PYSETL_HISTORY_URL"
DEFAULT_FILE = Path(".pysetl") / "history.db"
_MARKERS = (".pysetl", "pyproject.toml")


def find_project_dir(start: str | os.PathLike[str] | None = None) -> Path:
    """The nearest folder from ``start`` (default: cwd) up that looks like a project."""
    here = Path.cwd() if start is None else Path(start)
    here = here.resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).exists() for marker in _MARKERS):
            return folder
    return here


def default_history_path(start: str | os.PathLike[str] | None = None) -> Path:
    """Where the project's SQLite history lives (``<project>/.pysetl/history.db``)."""
    return find_project_dir(start) / DEFAULT_FILE


def open_history(
    url: str | None = None,
    *,
    project_dir: str | os.PathLike[str] | None = None,
) -> BaseRunHistory:
    """Open (and create or migrate) the run history.

    Args:
        url: Where it lives; default: ``PYSETL_HISTORY_URL``, else the
            project's ``.pysetl/history.db``.
        project_dir: Where to start looking for the project folder.

    Raises:
        RunHistoryError: The store cannot be opened or migrated.
        ConfigError: A ``PYSETL_*`` variable holds a bad value.
    """
    target = url or settings().history_url
    if target is None:
        return SqliteRunHistory(default_history_path(project_dir))
    if target.startswith("memory://"):
        return InMemoryRunHistory()
    if "://" not in target or target.startswith("sqlite"):
        return SqliteRunHistory(target)
    if target.startswith("postgresql"):
        return PostgresRunHistory(target)
    return SqlRunHistory(target)
