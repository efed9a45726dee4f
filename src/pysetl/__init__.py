"""pysetl: a typed, observable PySpark ETL framework."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pysetl._version import __version__
    from pysetl.context import PySetl, PySetlBuilder

__all__ = ["PySetl", "PySetlBuilder", "__version__"]

# Imported on first use: ``import pysetl`` (the CLI, config validation) stays
# light: ``pysetl.context`` imports the workflow engine, and reading the
# version imports ``importlib.metadata`` (about 35 ms).
_LAZY = {
    "PySetl": "pysetl.context",
    "PySetlBuilder": "pysetl.context",
    "__version__": "pysetl._version",
}


def __getattr__(name: str) -> Any:
    """``PySetl``, ``PySetlBuilder`` and ``__version__``, imported on first access."""
    home = _LAZY.get(name)
    if home is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    from importlib import import_module  # noqa: PLC0415 - first access only

    value = getattr(import_module(home), name)
    globals()[name] = value  # later accesses skip this function
    return value


def __dir__() -> list[str]:
    """The module's names, the lazy ones included."""
    return sorted({*globals(), *__all__})
