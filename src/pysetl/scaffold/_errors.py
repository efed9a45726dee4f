"""``ScaffoldError``: what ``pysetl new`` raises (drawn in ``pysetl.errors``)."""

from __future__ import annotations

from pysetl.errors import PySetlError

__all__ = ["ScaffoldError"]


class ScaffoldError(PySetlError):
    """``pysetl new`` cannot scaffold: a bad name, a folder in use, a failed update.

    Added in 0.5.
    """
