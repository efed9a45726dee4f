"""Problems found while loading a project config, and the one error listing them.

Every stage of the loader (reading files, merging, ``extends:``,
interpolation, validation) records a ``Problem`` instead of raising, so
one ``ConfigLoadError`` lists *every* problem at once,
each with its file, line (when known) and dotted key path.

Added in 0.3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pysetl.errors import ConfigLoadError
from pysetl.utils.redaction import redact_text

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

__all__ = ["KeyPath", "Problem", "dotted", "raise_problems"]

KeyPath = tuple[str, ...]
"""A key path, one part per mapping level (``("connectors", "orders", "path")``)."""


def dotted(path: Sequence[object]) -> str:
    """``a.b.c`` for ``("a", "b", "c")``; ``<root>`` for the empty path."""
    return ".".join(str(part) for part in path) or "<root>"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a project config.

    Attributes:
        msg: What is wrong and what was expected (never a secret value).
        file: The file it was found in, when known.
        line: The 1-based line in ``file``, when known.
        key: The key path it concerns (empty for a whole file).
        type: A short machine-readable kind (``parse``, ``missing_env``...).
    """

    msg: str
    file: Path | None = None
    line: int | None = None
    key: tuple[Any, ...] = ()
    type: str = "value_error"

    def as_error(self) -> dict[str, Any]:
        """The ``ConfigLoadError.errors`` entry: file, line, key, loc, msg, type."""
        return {
            "file": None if self.file is None else str(self.file),
            "line": self.line,
            "key": dotted(self.key),
            "loc": tuple(self.key),
            "msg": self.msg,
            "type": self.type,
        }

    def describe(self) -> str:
        """``file:line [key] msg`` (the parts that are known).

        The key is in brackets, not followed by a colon, so that the
        redactor's ``password: value`` rule does not take the message for
        the value of a secret-named key.
        """
        where = "" if self.file is None else str(self.file)
        if self.line is not None:
            where += f":{self.line}"
        key = f"[{dotted(self.key)}]" if self.key else ""
        head = " ".join(part for part in (where, key) if part)
        return f"{head} {self.msg}" if head else self.msg


def raise_problems(problems: Sequence[Problem], *, what: str, hint: str) -> None:
    """Raise one ``ConfigLoadError`` listing ``problems``; do nothing if empty.

    Args:
        problems: Everything found wrong, in the order found.
        what: What was being loaded, for the message (``config 'conf' (env 'prod')``).
        hint: What the user should do.

    Raises:
        ConfigLoadError: ``problems`` is not empty.
    """
    if not problems:
        return
    count = len(problems)
    noun = "problem" if count == 1 else "problems"
    lines = "\n".join(f"  - {redact_text(p.describe())}" for p in problems)
    msg = f"Cannot load {what}: {count} {noun}\n{lines}"
    raise ConfigLoadError(
        msg,
        hint=hint,
        config=what,
        errors=[{**p.as_error(), "msg": redact_text(p.msg)} for p in problems],
    )
