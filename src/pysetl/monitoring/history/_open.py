"""``open_history()``: find and open the run history of the current project.

Where the history lives, first match wins:

1. the ``url`` argument (the CLI's ``--history``);
2. the environment variable ``PYSETL_HISTORY_URL`` (read through
   ``pysetl.settings.settings``, like every process setting);
3. ``.pysetl/history.db`` (SQLite) in the project folder: the nearest
   folder, from the working directory up, that holds a ``.pysetl`` folder or
   a ``pyproject.toml``; the working directory if none does.

A URL starting with ``postgresql`` opens a ``PostgresRunHistory``, ``sqlite``
(or a plain file path) a ``SqliteRunHistory``, ``memory://`` an empty
``InMemoryRunHistory``; any other SQLAlchemy URL a ``SqlRunHistory``.

``create=False`` (the read-only commands: ``pysetl runs list``, ``logs``,
``ui``) opens an existing, current history only: it creates no folder, no
database file and no table, in the project or in another application's
database. A SQLite history whose file does not exist yet is then an empty
store (no runs), named by its URL, and nothing is written to disk.

Added in 0.2. Changed in 0.4: the variable is read through ``pysetl.settings``.
Changed in 0.5: ``create``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pysetl.monitoring.history._memory import InMemoryRunHistory
from pysetl.monitoring.history._postgres import PostgresRunHistory
from pysetl.monitoring.history._sql import SqlRunHistory
from pysetl.monitoring.history._sqlite import SqliteRunHistory, history_file
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
    create: bool = True,
) -> BaseRunHistory:
    """Open (and create or migrate) the run history.

    Args:
        url: Where it lives; default: ``PYSETL_HISTORY_URL``, else the
            project's ``.pysetl/history.db``.
        project_dir: Where to start looking for the project folder.
        create: Create or migrate it when missing or older; ``False`` opens
            an existing, current history only and writes no schema.

    Raises:
        RunHistoryError: The store cannot be opened or migrated; its schema
            is newer than this pysetl; with ``create=False``, there is no
            current pysetl history there.
        ConfigError: A ``PYSETL_*`` variable holds a bad value.
    """
    target = url or settings().history_url
    if target is None:
        return _sqlite(default_history_path(project_dir), create=create)
    if target.startswith("memory://"):
        return InMemoryRunHistory()
    if "://" not in target or target.startswith("sqlite"):
        return _sqlite(target, create=create)
    if target.startswith("postgresql"):
        return PostgresRunHistory(target, create=create)
    return SqlRunHistory(target, create=create)


def _sqlite(path: str | os.PathLike[str], *, create: bool) -> BaseRunHistory:
    """A SQLite history; without ``create``, an empty store if its file is missing."""
    file = history_file(path)
    if create or file is None or file.exists():
        return SqliteRunHistory(path, create=create)
    empty = InMemoryRunHistory()  # nothing recorded there yet: no runs to show
    empty.url = f"sqlite:///{file}"
    return empty
