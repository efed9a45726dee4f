"""Test helpers for pysetl projects: fixtures, assertions, doubles, run helpers.

``reset_state()`` puts pysetl's process-wide state (default hook manager,
connector registry, redactor, logging set up by ``configure_logging``,
settings) back as it was at import: call it around each test of your own
that touches them.

The names are loaded on first use (a module ``__getattr__``): pytest loads
the plugin (``pysetl.testing.plugin``) in every project that installs
pysetl, and that must not import pyspark or SQLAlchemy, which some of these
helpers need. ``import pysetl.testing`` alone imports neither.

Added in 0.5.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pysetl._state import reset_state
    from pysetl.testing._frames import assert_dataset_equal, assert_frame_equal
    from pysetl.testing._history import HISTORY_KINDS, record_run, temporary_history
    from pysetl.testing._run import run_factory
    from pysetl.testing._spark import TEST_SPARK_CONF, local_spark_session
    from pysetl.testing._storage import MemoryConnector, MemoryRepository

__all__ = [
    "HISTORY_KINDS",
    "TEST_SPARK_CONF",
    "MemoryConnector",
    "MemoryRepository",
    "assert_dataset_equal",
    "assert_frame_equal",
    "local_spark_session",
    "record_run",
    "reset_state",
    "run_factory",
    "temporary_history",
]

# Where each name lives: its module is imported when the name is first read.
_HOMES = {
    "HISTORY_KINDS": "_history",
    "TEST_SPARK_CONF": "_spark",
    "MemoryConnector": "_storage",
    "MemoryRepository": "_storage",
    "assert_dataset_equal": "_frames",
    "assert_frame_equal": "_frames",
    "local_spark_session": "_spark",
    "record_run": "_history",
    "reset_state": "pysetl._state",
    "run_factory": "_run",
    "temporary_history": "_history",
}


def __getattr__(name: str) -> Any:
    """Import the helper ``name`` from its module on first use."""
    home = _HOMES.get(name)
    if home is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    module = home if home.startswith("pysetl.") else f"{__name__}.{home}"
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
