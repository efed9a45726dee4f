"""The flights demo's printed run duration agrees with the run history (issue 10).

The demo imports pyspark (no JVM is started here), so these tests carry the
``spark`` marker.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from rich.console import Console

from pysetl.cli import commands
from pysetl.monitoring.history import InMemoryRunHistory

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo():
    sys.path.insert(0, str(ROOT))
    try:
        from demo import flights_etl
    finally:
        sys.path.remove(str(ROOT))
    return flights_etl


def shown_duration(history, run_id):
    out = io.StringIO()
    commands.show_run(history, run_id, console=Console(file=out, width=200))
    (line,) = [ln for ln in out.getvalue().splitlines() if ln.startswith("duration")]
    return line.removeprefix("duration").strip()


class TestRunDurationLine:
    @pytest.mark.parametrize("seconds", [0.4, 36.654, 59.999, 75.3, 3725.0])
    def test_it_is_what_runs_show_prints(self, demo, seconds):
        history = InMemoryRunHistory()
        history.start_run("01R", "flights", started_at=1_000.0)
        history.finish_run("01R", "succeeded", finished_at=1_000.0 + seconds)
        expected = shown_duration(history, "01R")
        line = demo.run_duration_line("01R", 1.0, history)
        assert line.startswith(f"the run took {expected} (")
        assert "run history" in line

    def test_without_a_history_the_line_says_what_it_measured(self, demo):
        line = demo.run_duration_line("01R", 12.345, None)
        assert line == "Pipeline.run() took 12.35 s (measured here; no run recorded)"
