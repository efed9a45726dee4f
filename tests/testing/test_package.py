"""pysetl.testing and its plugin load without pyspark or SQLAlchemy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import pysetl.testing

_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
roots = ("pyspark", "py4j", "sqlalchemy", "typedspark")
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(roots))))
"""


@pytest.mark.parametrize("name", ["pysetl.testing", "pysetl.testing.plugin"])
def test_importing_loads_no_heavy_dependency(name):
    result = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", _PROBE, name],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_names_are_loaded_on_first_use():
    from pysetl.testing._run import run_factory

    assert pysetl.testing.run_factory is run_factory
    assert "run_factory" in vars(pysetl.testing)  # kept: looked up once


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        _ = pysetl.testing.nothing
