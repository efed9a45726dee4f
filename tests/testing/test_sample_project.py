"""A user's project tested with pysetl.testing: its suite passes, a wrong test fails.

The sample project (``sample_project/``: two factories, a pipeline and their
tests) is copied to a temporary folder and run there by a pytest of its own
with the plugin (``-p pysetl.testing.plugin``), as a user's CI would run it.
A test with a deliberately wrong expectation is added to the copy: it must
fail, and its message must be the readable diff.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.metadata import entry_points
from pathlib import Path

SAMPLE = Path(__file__).parent / "sample_project"
PLUGIN = "pysetl.testing.plugin"


def plugin_options() -> list[str]:
    """``-p pysetl.testing.plugin`` unless pysetl is installed with its entry point.

    Were the entry point named otherwise than the module, both would register
    the module twice, under two names, which pytest refuses.
    """
    if any(e.value == PLUGIN for e in entry_points(group="pytest11")):
        return []
    return ["-p", PLUGIN]


WRONG = """
from sample_etl.factories import DailyTotal, DailyTotals, Order
from typedspark import DataSet

from pysetl.testing import MemoryRepository, assert_frame_equal, run_factory


def test_a_wrong_total(pysetl_spark, orders):
    output = run_factory(
        DailyTotals,
        inputs={
            "orders": DataSet[Order](orders.filter("amount > 0")),
            "sink": MemoryRepository[DailyTotal](),
        },
    )
    expected = pysetl_spark.createDataFrame(
        [("2024-01-01", 99.0, 2), ("2024-01-02", 0.1, 1)],
        DailyTotal.get_structtype(),
    )
    assert_frame_equal(output, expected)
"""


def test_the_sample_suite_passes_and_a_wrong_expectation_shows_the_diff(tmp_path):
    project = tmp_path / "sample_project"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns("__pycache__"))
    (project / "tests" / "test_wrong.py").write_text(WRONG)
    report = tmp_path / "report.xml"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "pytest",
            *plugin_options(),
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            f"--junitxml={report}",
            "-q",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output  # one test failed, none errored
    cases = {
        case.get("name"): [child.tag for child in case]
        for case in ET.parse(report).getroot().iter("testcase")  # noqa: S314 - ours
    }
    assert cases == {
        "test_load_orders_drops_refunds": [],
        "test_daily_totals_are_saved": [],
        "test_a_run_is_recorded[memory]": [],
        "test_a_run_is_recorded[sqlite]": [],
        "test_a_wrong_total": ["failure"],
    }, output
    assert "AssertionError: DataFrames differ" in output
    assert "Rows (order ignored): 2 actual, 2 expected" in output
    assert "- day='2024-01-01', total=99.0, orders=2" in output
    assert "+ day='2024-01-01', total=12.5, orders=2" in output
    assert not (SAMPLE / ".pytest_cache").exists()
