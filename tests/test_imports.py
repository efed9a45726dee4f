"""Importing the JVM-free parts of pysetl must not import pyspark.

``pysetl --help`` and config validation start without a JVM only if these
modules keep pyspark out of their module-level imports; lazy imports inside
functions are fine. Each check runs in a fresh interpreter.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

JVM_FREE = [
    "pysetl",
    "pysetl.config",
    "pysetl.context",
    "pysetl.errors",
    "pysetl.cli",
    "pysetl.cli.__main__",
]

_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
roots = ("pyspark", "py4j")
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in roots)))
"""


def _exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.parametrize("name", JVM_FREE)
def test_module_does_not_import_pyspark(name):
    if not _exists(name):
        pytest.skip(f"{name} does not exist yet")
    result = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", _PROBE, name],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == [], f"importing {name} imported {loaded}"


_LOADED = """
import json, sys
import pysetl
print(json.dumps(sorted(m for m in sys.modules if m.startswith("pysetl"))))
"""


def _pysetl_modules_after(code: str) -> list[str]:
    result = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_import_pysetl_is_light():
    """``import pysetl`` loads nothing more: the engine comes with ``PySetl``."""
    loaded = _pysetl_modules_after(_LOADED)
    assert "pysetl.workflow" not in loaded
    assert "pysetl.context" not in loaded
    assert loaded == ["pysetl"]


def test_pysetl_names_load_on_first_use():
    code = _LOADED.replace(
        "import pysetl\n", "import pysetl\nassert pysetl.PySetl.__name__ == 'PySetl'\n"
    )
    loaded = _pysetl_modules_after(code)
    assert {"pysetl.context", "pysetl.workflow"} <= set(loaded)
