"""The Python examples of README.md and docs/getting-started.md run as written.

Each page's ``python`` blocks run in order, in one namespace, in a scratch
directory holding the small input files they read, with the test session's
SparkSession active (the examples' ``getOrCreate()`` reuses it).
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

import pysetl

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)

CITIZENS = "name,age,city\nAna,34,Lisbon\nBo,12,Lisbon\nCy,45,Porto\nDi,19,Porto\n"
AIRLINES = "carrier,name\n9E,Endeavor Air Inc.\nAA,American Airlines Inc.\n"


def python_blocks(page: str) -> list[str]:
    return BLOCK.findall((ROOT / page).read_text(encoding="utf-8"))


def run_blocks(name, blocks, monkeypatch) -> dict[str, object]:
    """Run ``blocks`` as the body of a real module: typedspark resolves a
    schema's annotations in ``sys.modules[cls.__module__]``."""
    module = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, module)
    for block in blocks:
        exec(compile(block, name, "exec"), module.__dict__)  # noqa: S102
    return module.__dict__


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "citizens.csv").write_text(CITIZENS)
    raw = tmp_path / "demo" / "output" / "raw"
    raw.mkdir(parents=True)
    (raw / "airlines.csv").write_text(AIRLINES)
    monkeypatch.chdir(tmp_path)
    return tmp_path


needs_engine = pytest.mark.skipif(
    not hasattr(pysetl, "PySetl"),
    reason="the examples need pysetl.PySetl, which the workflow work exports",
)


def test_pages_have_examples():
    assert python_blocks("README.md")
    assert len(python_blocks("docs/getting-started.md")) >= 2


@needs_engine
def test_readme_pipeline_runs(spark, workdir, capsys, monkeypatch):
    namespace = run_blocks("readme_example", python_blocks("README.md"), monkeypatch)
    counts = {
        r["city"]: r["count"] for r in namespace["pipeline"].get_last_output().collect()
    }
    assert counts == {"Lisbon": 1, "Porto": 2}
    assert "AdultsPerCity" in capsys.readouterr().out


@needs_engine
def test_getting_started_runs(spark, workdir, monkeypatch):
    # The last block shows error handling around an existing pipeline.
    blocks = python_blocks("docs/getting-started.md")[:-1]
    namespace = run_blocks("getting_started_example", blocks, monkeypatch)
    assert namespace["target"].load().count() == 2
    long_names = namespace["pipeline"].get_last_output().collect()
    assert [r["carrier"] for r in long_names] == ["AA"]
