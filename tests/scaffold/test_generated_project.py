"""A project made by ``pysetl new`` runs and passes its own tests, offline.

``pysetl new demo_project`` in a temporary folder, ``pysetl new factory``
inside it, then the project's own commands as its README gives them, each in
a process of its own with the project as working directory: ``pysetl run
--env dev`` (Spark on the shipped CSV data, recorded in the project's
history) and ``pytest`` (the project's tests, with pysetl's plugin), side by
side; ``ruff check`` and ``ruff format --check`` meanwhile. Nothing is
installed and nothing reaches the network: ``src/`` is on the path through
the project's own settings.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.metadata import entry_points
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pysetl.monitoring.history import SqliteRunHistory

# The project's processes start Spark; on a loaded machine they take minutes.
pytestmark = [pytest.mark.spark, pytest.mark.timeout(900)]

PLUGIN = "pysetl.testing.plugin"
BIN = Path(sys.executable).parent


def pysetl(*args: str) -> list[str]:
    """The ``pysetl`` command of this interpreter's environment."""
    script = BIN / "pysetl"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "pysetl.cli", *args]  # pragma: no cover


def plugin_options() -> list[str]:
    """``-p pysetl.testing.plugin`` unless the entry point loads it already."""
    if any(e.value == PLUGIN for e in entry_points(group="pytest11")):
        return []
    return ["-p", PLUGIN]


@pytest.fixture
def environ(tmp_path):
    """A user's environment: none of our test settings, the cache in tmp_path."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYSETL_", "PYTEST_"))  # ours, xdist's, addopts
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return env


def run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603 - our interpreter and arguments
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{command} failed:\n{output}"
    return output


def test_a_new_project_runs_and_passes_its_own_tests(tmp_path, environ):
    run(pysetl("new", "demo_project", "--dir", str(tmp_path)), tmp_path, environ)
    project = tmp_path / "demo_project"
    run(pysetl("new", "factory", "EnrichOrders"), project / "src", environ)

    report = tmp_path / "report.xml"
    spawn = {
        "cwd": project,
        "env": environ,
        "stdout": subprocess.PIPE,
        "stderr": subprocess.STDOUT,
        "text": True,
        "stdin": subprocess.DEVNULL,
    }
    pipeline = subprocess.Popen(pysetl("run", "--env", "dev"), **spawn)  # noqa: S603
    tests = subprocess.Popen(  # noqa: S603 - our interpreter and arguments
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
        **spawn,
    )
    try:
        ruff = [sys.executable, "-m", "ruff"]
        run([*ruff, "check", "--no-cache", "."], project, environ)
        run([*ruff, "format", "--check", "--no-cache", "."], project, environ)
        run_output, _ = pipeline.communicate(timeout=600)
        test_output, _ = tests.communicate(timeout=600)
    finally:
        for process in (pipeline, tests):
            if process.poll() is None:  # pragma: no cover - only on a timeout
                process.kill()
                process.wait()

    assert pipeline.returncode == 0, run_output
    assert "of pipeline 'revenue': succeeded" in run_output
    saved = pq.read_table(project / "data" / "output" / "revenue").to_pylist()
    assert sorted((r["country"], r["orders"], r["revenue"]) for r in saved) == [
        ("FR", 1, 120.5),
        ("GB", 2, 100.0),
        ("NL", 1, 15.25),
        ("US", 2, 285.0),
    ]
    with SqliteRunHistory(project / ".pysetl" / "history.db", create=False) as history:
        (recorded,) = history.list_runs().items
        assert (recorded.pipeline, recorded.status) == ("revenue", "succeeded")

    assert tests.returncode == 0, test_output
    cases = {
        case.get("name"): [child.tag for child in case]
        for case in ET.parse(report).getroot().iter("testcase")  # noqa: S314 - ours
    }
    assert cases == {
        "test_keeps_the_valid_orders_typed": [],
        "test_sums_and_counts_per_country": [],
        "test_a_run_saves_the_revenue": [],
        "test_every_environment_has_the_catalog[None]": [],
        "test_every_environment_has_the_catalog[dev]": [],
        "test_every_environment_has_the_catalog[prod]": [],
        "test_prod_never_replaces_a_report": [],
        "test_sums_the_values_of_each_key": [],
    }, test_output
