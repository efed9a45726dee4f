"""``pysetl errors`` and ``pysetl errors show`` over a history of real failing runs."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from pysetl.cli.__main__ import app
from pysetl.cli.errors_cmd import list_errors, show_errors, sparkline
from pysetl.monitoring.errors import DailyCount
from pysetl.monitoring.history import InMemoryRunHistory

# The recorded scenario of the error analytics tests (real Session runs).
_CONFTEST = Path(__file__).parents[1] / "monitoring" / "errors" / "conftest.py"
_SPEC = importlib.util.spec_from_file_location("errors_scenario", _CONFTEST)
assert _SPEC is not None
assert _SPEC.loader is not None
scenario = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = scenario
_SPEC.loader.exec_module(scenario)
clean_hooks = scenario.clean_hooks
sqlite_runs = scenario.sqlite_runs


def pysetl(url: str, *args: str):
    return CliRunner().invoke(
        app, ["--history", url, *args], env={"COLUMNS": "200", "PYSETL_DEBUG": "0"}
    )


def fingerprints(url: str) -> dict[str | None, str]:
    result = pysetl(url, "errors", "--json")
    return {g["factory"]: g["fingerprint"] for g in json.loads(result.stdout)["groups"]}


class TestErrorsList:
    def test_lists_each_group_with_counts_pipelines_and_trend(self, sqlite_runs):
        result = pysetl(sqlite_runs.url, "errors")
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        clean = next(line for line in lines if "Clean" in line)
        assert "ValueError: row <n> is negative (-<n>) in batch <addr>" in clean
        assert "orders, refunds" in clean
        assert clean.split().count("4") == 2  # 4 failures in 4 runs
        assert clean.rstrip().endswith("·······█")
        load = next(line for line in lines if "LoadOrders" in line)
        assert "FileNotFoundError: No such file or directory: '<path>'" in load
        assert "DependencyResolutionError" in result.stdout
        assert "pysetl errors show FINGERPRINT" in result.stdout

    def test_json_has_every_field_and_a_daily_trend(self, sqlite_runs):
        result = pysetl(sqlite_runs.url, "errors", "--since", "2d", "--json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert isinstance(data["since"], float)
        groups = {g["factory"]: g for g in data["groups"]}
        assert set(groups) == {None, "Clean", "LoadOrders"}
        clean = groups["Clean"]
        assert (clean["count"], clean["runs"]) == (4, 4)
        assert clean["pipelines"] == ["orders", "refunds"]
        assert clean["last_run_id"] == sqlite_runs.runs["clean"][-1]
        assert [d["count"] for d in clean["trend"]] == [0, 0, 4]

    def test_filters_by_pipeline_and_window(self, sqlite_runs):
        url = sqlite_runs.url
        refunds = json.loads(
            pysetl(url, "errors", "--pipeline", "refunds", "--json").stdout
        )
        assert [g["factory"] for g in refunds["groups"]] == ["Clean"]
        whole = json.loads(pysetl(url, "errors", "--since", "all", "--json").stdout)
        assert whole["since"] is None
        assert len(whole["groups"]) == 3
        limited = json.loads(pysetl(url, "errors", "--limit", "1", "--json").stdout)
        assert [g["factory"] for g in limited["groups"]] == [None]
        result = pysetl(url, "errors", "--pipeline", "nope")
        assert result.exit_code == 0
        assert "No failures of pipeline 'nope' since" in result.stdout

    def test_a_bad_window_is_a_usage_error(self, sqlite_runs):
        result = pysetl(sqlite_runs.url, "errors", "--since", "3x")
        assert result.exit_code == 2
        assert "Cannot read '3x' as an age" in result.output

    def test_a_missing_history_is_empty_and_is_not_created(self, tmp_path):
        """As ``runs list``: a read-only command creates no file."""
        path = tmp_path / "none.db"
        result = pysetl(f"sqlite:///{path}", "errors")
        assert result.exit_code == 0, result.output
        assert "No failures since" in result.stdout
        assert not path.exists()


class TestErrorsShow:
    def test_shows_the_failures_of_a_group_with_their_runs(self, sqlite_runs):
        fp = fingerprints(sqlite_runs.url)["Clean"]
        result = pysetl(sqlite_runs.url, "errors", "show", fp[:6])
        assert result.exit_code == 0, result.output
        out = result.stdout
        assert fp in out
        assert "ValueError" in out
        rows = [line for line in out.splitlines() if " failed " in line]
        assert [r.split()[2] for r in rows] == sqlite_runs.runs["clean"][::-1]
        assert "row 1001 is negative (-1.5) in batch 0x7f0001" in rows[0]
        assert "pysetl runs show RUN" in out

    def test_json_and_limit(self, sqlite_runs):
        fp = fingerprints(sqlite_runs.url)["LoadOrders"]
        result = pysetl(sqlite_runs.url, "errors", "show", fp, "--json", "--limit", "2")
        assert result.exit_code == 0, result.output
        found = json.loads(result.stdout)
        assert [o["run_id"] for o in found] == sqlite_runs.runs["load"][:0:-1]
        assert {o["fingerprint"] for o in found} == {fp}
        table = pysetl(sqlite_runs.url, "errors", "show", fp, "--limit", "2")
        assert "raise --limit above 2" in table.stdout

    def test_a_run_level_failure_has_no_factory(self, sqlite_runs):
        fp = fingerprints(sqlite_runs.url)[None]
        result = pysetl(sqlite_runs.url, "errors", "show", fp)
        assert result.exit_code == 0, result.output
        assert "- (the run itself)" in result.stdout
        assert sqlite_runs.runs["preflight"][0] in result.stdout

    def test_an_unknown_fingerprint_is_a_history_error(self, sqlite_runs):
        result = pysetl(sqlite_runs.url, "errors", "show", "ffffffffffff")
        assert result.exit_code == 4
        assert "No failure has the fingerprint 'ffffffffffff'" in result.output
        assert "pysetl errors --since all" in result.output

    def test_a_short_fingerprint_is_refused(self, sqlite_runs):
        result = pysetl(sqlite_runs.url, "errors", "show", "ab")
        assert result.exit_code == 4
        assert "too short" in result.output


class TestFromPython:
    def test_an_empty_history_says_so(self):
        console = Console(record=True, width=120)
        assert list_errors(InMemoryRunHistory(), since="all", console=console) == []
        assert "No failures in the whole history." in console.export_text()

    def test_show_renders_to_a_given_console(self, sqlite_runs):
        console = Console(record=True, width=200)
        groups = list_errors(sqlite_runs.history, console=console)
        found = show_errors(
            sqlite_runs.history, groups[0].fingerprint, since="1d", console=console
        )
        assert found[0].run_id == sqlite_runs.runs["preflight"][0]
        assert found[0].run_id in console.export_text()


class TestSparkline:
    @pytest.mark.parametrize(
        ("counts", "line"),
        [
            ([0, 4, 1], "·█▂"),
            (list(range(9)), "·▁▂▃▄▅▆▇█"),
            ([0, 0], "··"),
            ([], ""),
        ],
    )
    def test_a_bar_a_day_by_share_of_the_busiest(self, counts, line):
        days = [DailyCount(date(2026, 1, 1), n) for n in counts]
        assert sparkline(days) == line
