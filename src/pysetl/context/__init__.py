"""The project context: ``PySetl`` (session, configs, inputs) and its builder.

pyspark, ``pysetl.storage`` and ``pysetl.runtime`` are imported inside
methods only, so importing this package starts no JVM.

Changed in 0.7: public as ``pysetl.context`` (it was ``pysetl._context``).
"""

from __future__ import annotations

from pysetl.context._builder import PySetlBuilder
from pysetl.context._pysetl import PySetl

__all__ = ["PySetl", "PySetlBuilder"]
