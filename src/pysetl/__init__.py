"""pysetl: a typed, observable PySpark ETL framework."""

from __future__ import annotations

from pysetl._version import __version__

__all__ = ["__version__"]
