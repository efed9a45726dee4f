"""Alias of ``pysetl.context``, where ``PySetl`` and ``PySetlBuilder`` live now.

Changed in 0.7: the module is public as ``pysetl.context``; this name stays
importable for code that imported the private one.
"""

from __future__ import annotations

from pysetl.context import PySetl, PySetlBuilder

__all__ = ["PySetl", "PySetlBuilder"]
