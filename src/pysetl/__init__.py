"""pysetl: a typed, observable PySpark ETL framework."""

from __future__ import annotations

from pysetl._context import PySetl, PySetlBuilder
from pysetl._version import __version__

__all__ = ["PySetl", "PySetlBuilder", "__version__"]
