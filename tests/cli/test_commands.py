"""The ``pysetl`` command: runs list/show/prune, logs, exit codes, no JVM at start."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from pysetl.cli import commands
from pysetl.cli.__main__ import PySetlGroup, app, main
from pysetl.errors import (
    ConfigError,
    ConnectorError,
    DependencyResolutionError,
    FactoryError,
    PipelineError,
    RunHistoryError,
    StageError,
)
from pysetl.monitoring.history import (
    AddLog,
    InMemoryRunHistory,
    MarkCrashed,
    SqliteRunHistory,
    error_to_dict,
)
from pysetl.monitoring.history.ops import (
    FinishAttempt,
    FinishStage,
    StartAttempt,
    StartStage,
)

NOW = time.time()


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def db(tmp_path):
    return tmp_path / "history.db"


@pytest.fixture
def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def history(db):
    store = SqliteRunHistory(db)
    yield store
    store.close()


def failing_error():
    try:
        try:
            {}["k"]
        except KeyError as exc:
            error = FactoryError(
                "Factory 'Clean' failed in 'process'",
                hint="look at Clean.process()",
                run_id="01B",
                stage=1,
                factory="Clean",
                phase="process",
            )
            raise error from exc
    except FactoryError as error:
        return error_to_dict(error)


@pytest.fixture
def runs(history):
    """Two finished runs (one failed, with stages, attempts and logs), one running."""
    now = time.time()
    history.start_run("01A", "daily", started_at=now - 100)
    history.finish_run("01A", "succeeded", finished_at=now - 90)
    history.start_run("01B", "hourly", started_at=now - 50, config_version="cfg9")
    history.apply(
        [
            StartStage("01B", 0, now - 50),
            FinishStage("01B", 0, "succeeded", now - 45, 5.0),
            StartStage("01B", 1, now - 45),
            FinishStage("01B", 1, "failed", now - 40, 5.0),
            StartAttempt("01B", 0, "Load", 1, now - 50),
            FinishAttempt(
                "01B", 0, "Load", 1, "succeeded", now - 45, 5.0, {"read": 4.0}
            ),
            StartAttempt("01B", 1, "Clean", 1, now - 45),
            FinishAttempt(
                "01B",
                1,
                "Clean",
                1,
                "failed",
                now - 40,
                75.0,
                {"read": 0.5},
                "process",
                failing_error(),
            ),
        ]
    )
    history.finish_run("01B", "failed", finished_at=now - 40, error=failing_error())
    history.add_logs(
        [
            AddLog(now - 49, "INFO", "reading [orders]", "01B", "Load"),
            AddLog(now - 44, "WARNING", "nulls found", "01B", "Clean"),
            AddLog(now - 41, "ERROR", "cannot clean", "01B", "Clean"),
        ]
    )
    history.start_run("01C", "daily", started_at=now - 10)
    return history


def invoke(runner, db, *args, **kwargs):
    return runner.invoke(app, ["--history", str(db), *args], **kwargs)


class TestRunsList:
    @pytest.mark.usefixtures("runs")
    def test_lists_runs_newest_first(self, runner, db):
        result = invoke(runner, db, "runs", "list")
        assert result.exit_code == 0, result.output
        out = result.output
        assert out.index("01C") < out.index("01B") < out.index("01A")
        assert "failed" in out
        assert "succeeded" in out

    @pytest.mark.usefixtures("runs")
    def test_filters(self, runner, db):
        result = invoke(runner, db, "runs", "list", "--pipeline", "hourly")
        assert "01B" in result.output
        assert "01A" not in result.output
        result = invoke(runner, db, "runs", "list", "--status", "succeeded")
        assert "01A" in result.output
        assert "01B" not in result.output

    @pytest.mark.usefixtures("runs")
    def test_pages(self, runner, db):
        first = invoke(runner, db, "runs", "list", "--limit", "1")
        assert "More runs: --cursor 01C" in first.output
        second = invoke(runner, db, "runs", "list", "--limit", "1", "--cursor", "01C")
        assert "01B" in second.output
        third = invoke(runner, db, "runs", "list", "--limit", "1", "--page", "3")
        assert "01A" in third.output
        assert "More runs" not in third.output
        beyond = invoke(runner, db, "runs", "list", "--limit", "2", "--page", "5")
        assert "01A" in beyond.output

    def test_no_runs(self, runner, db):
        SqliteRunHistory(db).close()
        result = invoke(runner, db, "runs", "list")
        assert result.exit_code == 0
        assert "No runs." in result.output

    def test_a_missing_history_has_no_runs_and_is_not_created(self, runner, db):
        result = invoke(runner, db, "runs", "list")
        assert result.exit_code == 0
        assert "No runs." in result.output
        assert not db.exists()

    def test_a_bad_status_is_a_usage_error(self, runner, db):
        result = invoke(runner, db, "runs", "list", "--status", "paused")
        assert result.exit_code == commands.EXIT_USAGE

    @pytest.mark.usefixtures("runs")
    def test_the_environment_variable_names_the_history(self, runner, db):
        result = runner.invoke(
            app, ["runs", "list"], env={"PYSETL_HISTORY_URL": str(db)}
        )
        assert "01B" in result.output

    def test_dead_runs_are_shown_crashed(self, runner, db, history):
        history.start_run("01D", "p", started_at=NOW - 3600, host="elsewhere")
        result = invoke(runner, db, "runs", "list")
        assert "crashed" in result.output

    def test_a_read_only_history_still_lists(self, capsys):
        class ReadOnly(InMemoryRunHistory):
            def _apply(self, ops):
                if any(isinstance(op, MarkCrashed) for op in ops):
                    raise RunHistoryError("read-only")
                super()._apply(ops)

        store = ReadOnly()
        store.start_run("01D", "p", started_at=time.time() - 3600, host="elsewhere")
        commands.list_runs(store)
        assert "running" in capsys.readouterr().out


class TestRunsShow:
    @pytest.mark.usefixtures("runs")
    def test_shows_stages_attempts_and_the_error_with_its_hint(self, runner, db):
        result = invoke(runner, db, "runs", "show", "01B")
        assert result.exit_code == 0, result.output
        out = result.output
        for expected in (
            "hourly",
            "cfg9",
            "Stages",
            "Factory attempts",
            "Load",
            "Clean",
            "read 4.00 s",
            "1m 15s",
            "FactoryError: Factory 'Clean' failed in 'process'",
            "at: stage 1, factory Clean, attempt 1, phase process",
            "caused by: KeyError: 'k'",
            "hint: look at Clean.process()",
        ):
            assert expected in out, expected
        assert "Traceback" not in out

    @pytest.mark.usefixtures("runs")
    def test_traceback_on_request(self, runner, db):
        result = invoke(runner, db, "runs", "show", "01B", "--traceback")
        assert "Traceback (most recent call last)" in result.output

    @pytest.mark.usefixtures("runs")
    def test_limits_the_attempts(self, runner, db):
        result = invoke(runner, db, "runs", "show", "01B", "--limit", "1")
        assert "More attempts not shown" in result.output

    @pytest.mark.usefixtures("runs")
    def test_a_running_run(self, runner, db):
        result = invoke(runner, db, "runs", "show", "01C")
        assert "running" in result.output
        assert "Error" not in result.output

    @pytest.mark.usefixtures("runs")
    def test_an_unknown_run_is_a_history_error(self, runner, db):
        result = invoke(runner, db, "runs", "show", "nope")
        assert result.exit_code == commands.EXIT_HISTORY
        assert "pysetl: error: No run 'nope'" in result.output
        assert "hint: list the runs with 'pysetl runs list'" in result.output
        assert "Traceback" not in result.output

    @pytest.mark.usefixtures("runs")
    def test_debug_adds_the_traceback(self, runner, db):
        result = runner.invoke(
            app, ["--debug", "--history", str(db), "runs", "show", "nope"]
        )
        assert result.exit_code == commands.EXIT_HISTORY
        assert "Traceback" in result.output


class TestRunsShowFactoryNames:
    """``runs show`` never cuts a factory name with an ellipsis (issue 10)."""

    LONG = "CarrierDelaysPerMonthAndAirportReportFactory"

    @pytest.fixture
    def long_names(self, history):
        now = time.time()
        history.start_run("01L", "flights", started_at=now - 10)
        history.apply(
            [
                StartAttempt("01L", 0, name, 1, now - 10)
                for name in (self.LONG, "CarrierDelaysReport")
            ]
            + [
                FinishAttempt(
                    "01L",
                    0,
                    name,
                    1,
                    "succeeded",
                    now - 5,
                    5.0,
                    {"read": 0.48, "process": 0.49, "write": 4.79, "get": 0.17},
                )
                for name in (self.LONG, "CarrierDelaysReport")
            ]
        )
        history.finish_run("01L", "succeeded", finished_at=now - 5)
        return history

    @staticmethod
    def rows(out, name):
        return [line for line in out.splitlines() if name in line]

    def test_not_a_terminal_shows_each_row_whole_on_one_line(
        self, runner, db, long_names
    ):
        result = invoke(runner, db, "runs", "show", "01L", env={"COLUMNS": "40"})
        assert result.exit_code == 0, result.output
        (row,) = self.rows(result.output, self.LONG)
        assert "read 0.48 s, process 0.49 s, write 4.79 s, get 0.17 s" in row
        assert "…" not in result.output

    @pytest.mark.parametrize("width", [80, 120])
    def test_a_terminal_wide_enough_keeps_the_name_whole(self, long_names, width):
        name = self.LONG if width == 120 else "CarrierDelaysReport"
        out = io.StringIO()
        console = Console(file=out, width=width, force_terminal=True, no_color=True)
        commands.show_run(long_names, "01L", console=console)
        assert self.rows(out.getvalue(), name)
        assert "…" not in out.getvalue()

    def test_a_narrow_terminal_folds_the_name_instead_of_cutting_it(self, long_names):
        out = io.StringIO()
        console = Console(file=out, width=60, force_terminal=True, no_color=True)
        commands.show_run(long_names, "01L", console=console)
        text = out.getvalue()
        assert not self.rows(text, self.LONG)  # folded over several lines
        lines = text.splitlines()
        first = next(i for i, line in enumerate(lines) if self.LONG[:6] in line)
        column = lines[first].index(self.LONG[:6])
        pieces = [line[column:].split(" ")[0] for line in lines[first:]]
        folded = "".join(pieces[: pieces.index("")])
        assert folded == self.LONG
        assert "…" not in text


class TestRunsPrune:
    def test_prunes_with_yes(self, runner, db, runs):
        result = invoke(runner, db, "runs", "prune", "--older-than", "1m", "--yes")
        assert result.exit_code == 0, result.output
        assert "Deleted 1 run(s)" in result.output
        assert runs.find_run("01A") is None
        assert runs.find_run("01C") is not None

    def test_asks_first(self, runner, db, runs):
        result = invoke(runner, db, "runs", "prune", "--older-than", "1m", input="n\n")
        assert result.exit_code == commands.EXIT_INTERRUPTED
        assert runs.find_run("01A") is not None
        result = invoke(runner, db, "runs", "prune", "--older-than", "1m", input="y\n")
        assert result.exit_code == 0
        assert runs.find_run("01A") is None

    def test_a_bad_age_is_a_usage_error(self, runner, db):
        result = invoke(runner, db, "runs", "prune", "--older-than", "soon")
        assert result.exit_code == commands.EXIT_USAGE
        assert "Cannot read 'soon' as an age" in result.output


class TestLogs:
    @pytest.mark.usefixtures("runs")
    def test_shows_every_line_of_the_run(self, runner, db):
        result = invoke(runner, db, "logs", "01B")
        assert result.exit_code == 0, result.output
        out = result.output
        assert out.index("reading [orders]") < out.index("nulls found")
        assert "Load: reading [orders]" in out
        assert "ERROR" in out

    @pytest.mark.parametrize(
        ("option", "value", "shown", "hidden"),
        [
            ("--factory", "Clean", "nulls found", "reading"),
            ("--level", "error", "cannot clean", "nulls found"),
            ("--grep", "NULLS", "nulls found", "cannot clean"),
        ],
    )
    @pytest.mark.usefixtures("runs")
    def test_filters(self, runner, db, option, value, shown, hidden):  # noqa: PLR0917
        result = invoke(runner, db, "logs", "01B", option, value)
        assert shown in result.output
        assert hidden not in result.output

    @pytest.mark.usefixtures("runs")
    def test_limit(self, runner, db):
        result = invoke(runner, db, "logs", "01B", "--limit", "2")
        assert "cannot clean" not in result.output
        assert "More lines" in result.output

    @pytest.mark.usefixtures("runs")
    def test_an_unknown_level_is_a_history_error(self, runner, db):
        result = invoke(runner, db, "logs", "01B", "--level", "LOUD")
        assert result.exit_code == commands.EXIT_HISTORY
        assert "Unknown log level 'LOUD'" in result.output

    @pytest.mark.usefixtures("runs")
    def test_follow_stops_when_a_finished_run_is_read(self, runner, db):
        result = invoke(runner, db, "logs", "01B", "--follow", "--limit", "1")
        assert result.exit_code == 0
        assert "cannot clean" in result.output

    def test_follow_shows_new_lines_until_the_run_ends(self, db, runs):
        console = commands.Console(record=True, width=200)
        writer = SqliteRunHistory(db)

        def write_later():
            time.sleep(0.2)
            writer.add_logs([AddLog(time.time(), "INFO", "late line", "01C")])
            time.sleep(0.2)
            writer.add_logs([AddLog(time.time(), "INFO", "last line", "01C")])
            writer.finish_run("01C", "succeeded")

        thread = threading.Thread(target=write_later)
        thread.start()
        shown = commands.show_logs(
            runs, "01C", follow=True, poll_interval=0.02, console=console
        )
        thread.join()
        writer.close()
        text = console.export_text()
        assert shown == 2
        assert text.index("late line") < text.index("last line")

    def test_follow_stops_when_the_process_died(self, history, dead_pid):
        history.start_run("01X", "p", pid=dead_pid)
        history.add_logs([AddLog(time.time(), "INFO", "last words", "01X")])
        console = commands.Console(record=True, width=200)
        assert commands.show_logs(history, "01X", follow=True, console=console) == 1
        assert history.get_run("01X").status == "crashed"

    def test_ctrl_c_stops_following(self, runs):
        class Interrupting(commands.Console):
            def print(self, *_args, **_kwargs):
                raise KeyboardInterrupt

        runs.add_logs([AddLog(NOW, "INFO", "x", "01C")])
        assert commands.show_logs(runs, "01C", follow=True, console=Interrupting()) == 0


class TestExitCodes:
    @pytest.mark.parametrize(
        ("error", "code"),
        [
            (PipelineError("p"), 1),
            (FactoryError("f"), 1),
            (StageError("s"), 1),
            (DependencyResolutionError("d"), 1),
            (ConfigError("c"), 3),
            (RunHistoryError("h"), 4),
            (ConnectorError("c"), 5),
            (ValueError("bug"), 70),
            (KeyboardInterrupt(), 130),
        ],
    )
    def test_exit_code_for(self, error, code):
        assert commands.exit_code_for(error) == code

    @pytest.mark.parametrize(
        ("error", "code", "message"),
        [
            (ConfigError("bad key 'x'", hint="fix it"), 3, "pysetl: error: bad key"),
            (PipelineError(""), 1, "pysetl: error: PipelineError"),
            (ValueError("oops"), 70, "internal error: ValueError: oops"),
            (KeyboardInterrupt(), 130, "Aborted."),
        ],
    )
    def test_the_handler_maps_errors(self, runner, error, code, message):
        demo = typer.Typer(cls=PySetlGroup)

        @demo.callback()
        def root(debug: bool = False):
            pass

        @demo.command()
        def boom():
            raise error

        result = runner.invoke(demo, ["boom"])
        assert result.exit_code == code
        assert message in result.output
        assert "Traceback" not in result.output

    def test_debug_shows_the_traceback_of_an_internal_error(self, runner):
        demo = typer.Typer(cls=PySetlGroup)

        @demo.callback()
        def root(debug: bool = False):
            pass

        @demo.command()
        def boom():
            raise ValueError("oops")

        result = runner.invoke(demo, ["--debug", "boom"])
        assert result.exit_code == commands.EXIT_INTERNAL
        assert "Traceback" in result.output
        assert "report the traceback" not in result.output

    def test_version(self, runner):
        result = runner.invoke(app, ["--version"])
        assert result.exit_code == 0
        assert result.output.startswith("pysetl ")

    def test_main_runs_the_app(self, capsys):
        with pytest.raises(SystemExit) as info:
            main(["--version"])
        assert info.value.code == 0
        assert "pysetl" in capsys.readouterr().out

    def test_no_arguments_shows_help(self, runner):
        result = runner.invoke(app, [])
        assert "runs" in result.output


class TestParseAge:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("45s", 45)],
    )
    def test_units(self, text, seconds):
        assert commands.parse_age(text) == timedelta(seconds=seconds)

    def test_weeks_and_fractions(self):
        assert commands.parse_age(" 1.5w ") == timedelta(days=10.5)
        assert commands.parse_age(timedelta(1)) == timedelta(1)

    def test_nonsense(self):
        with pytest.raises(RunHistoryError, match="as an age"):
            commands.parse_age("30 days")


class TestFormatting:
    def test_durations(self):
        assert commands._seconds(None) == "-"
        assert commands._seconds(1.234) == "1.23 s"
        assert commands._seconds(75) == "1m 15s"
        assert commands._seconds(3725) == "1h 02m"

    def test_the_default_console_is_stdout(self, history, capsys):
        commands.list_runs(history)
        assert "No runs." in capsys.readouterr().out


_PROBE = """
import json, runpy, sys
sys.argv = ["pysetl", "--help"]
try:
    runpy.run_module("pysetl.cli", run_name="__main__")
except SystemExit as exc:
    code = exc.code
roots = ("pyspark", "py4j")
print(json.dumps([code, sorted(m for m in sys.modules if m.split(".")[0] in roots)]))
"""


class TestProcess:
    def test_help_in_a_real_process(self):
        result = subprocess.run(
            [sys.executable, "-m", "pysetl.cli", "--help"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert "runs" in result.stdout
        assert "logs" in result.stdout

    def test_help_imports_no_pyspark(self):
        result = subprocess.run(  # noqa: S603 - our interpreter and probe
            [sys.executable, "-c", _PROBE],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        code, loaded = json.loads(result.stdout.strip().splitlines()[-1])
        assert code == 0
        assert loaded == []
