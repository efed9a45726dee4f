"""The ``pysetl`` command line: ``runs list/show/prune`` and ``logs``."""

from __future__ import annotations

__all__: list[str] = []
