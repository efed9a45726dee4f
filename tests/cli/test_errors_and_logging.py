"""The CLI configures logging once and shows a failing factory's context once."""

from __future__ import annotations

import logging
import uuid

import pytest
import typer
from typer.testing import CliRunner

from pysetl.cli import commands
from pysetl.cli.__main__ import PySetlGroup, app
from pysetl.errors import ConfigLoadError, FactoryError
from pysetl.logs import JsonFormatter
from pysetl.monitoring.history import error_to_dict
from pysetl.settings import settings
from pysetl.utils.redaction import MASK, register_secret


@pytest.fixture
def runner():
    return CliRunner()


def _demo(error: Exception) -> typer.Typer:
    demo = typer.Typer(cls=PySetlGroup)

    @demo.callback()
    def root(debug: bool = False):
        pass

    @demo.command()
    def boom():
        raise error

    return demo


def _cause(secret: str) -> RuntimeError:
    try:
        msg = f"cannot connect with {secret}"
        raise RuntimeError(msg)  # noqa: TRY301 - a real traceback to show
    except RuntimeError as exc:
        return exc


def _factory_error(secret: str) -> FactoryError:
    error = FactoryError(
        f"Factory 'Load' failed in 'read': RuntimeError: {secret}\nplan...",
        hint="the path /data/x does not exist",
        run_id="01RUN",
        pipeline="shop",
        stage=0,
        factory="Load",
        phase="read",
        error_class="PATH_NOT_FOUND",
        message_parameters={"path": "/data/x"},
    )
    error.__cause__ = _cause(secret)
    return error


class TestFactoryErrors:
    def test_printed_once_with_its_context_and_no_secret(self, runner):
        secret = f"canary-{uuid.uuid4().hex}"
        register_secret(secret)
        result = runner.invoke(_demo(_factory_error(secret)), ["boom"])
        assert result.exit_code == 1
        out = result.output
        assert out.count("pysetl: error: Factory 'Load' failed in 'read'") == 1
        assert "plan..." not in out
        assert (
            "at: run 01RUN, pipeline shop, stage 0, factory Load, attempt 1, "
            "phase read" in out
        )
        assert "spark error class: PATH_NOT_FOUND" in out
        assert "hint: the path /data/x does not exist" in out
        assert "Traceback" not in out
        assert secret not in out
        assert MASK in out

    def test_debug_adds_the_redacted_traceback(self, runner):
        secret = f"canary-{uuid.uuid4().hex}"
        register_secret(secret)
        result = runner.invoke(_demo(_factory_error(secret)), ["--debug", "boom"])
        assert "Traceback" in result.output
        assert "RuntimeError" in result.output
        assert secret not in result.output

    def test_without_spark_details(self, runner):
        error = FactoryError("Factory 'Load' failed", factory="Load", phase="read")
        result = runner.invoke(_demo(error), ["boom"])
        assert "at: factory Load, attempt 1, phase read" in result.output
        assert "spark error class" not in result.output

    def test_the_history_view_shows_the_spark_error_class(self):
        stored = error_to_dict(_factory_error("not-a-secret"))
        lines = commands._error_lines(stored, traceback=False)
        assert "spark error class: PATH_NOT_FOUND" in lines
        assert stored["message_parameters"] == {"path": "/data/x"}


class TestLoggingOptions:
    def test_a_bad_format_is_a_usage_error(self, runner, tmp_path):
        db = tmp_path / "h.db"
        result = runner.invoke(
            app, ["--log-format", "xml", "--history", str(db), "runs", "list"]
        )
        assert result.exit_code == 2
        assert "Unknown log format" in result.output

    def test_logging_is_configured_for_the_command_then_removed(self, runner, tmp_path):
        db = tmp_path / "h.db"
        result = runner.invoke(
            app,
            [
                "--log-format",
                "json",
                "--log-level",
                "warning",
                "--history",
                str(db),
                "runs",
                "list",
            ],
        )
        assert result.exit_code == 0, result.output
        root = logging.getLogger()
        assert not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers)


class TestConfigLoadErrors:
    def test_every_located_problem_is_printed(self, runner):
        error = ConfigLoadError(
            "Cannot load config 'conf': 2 problems\n"
            "  - conf/base/a.yaml:2 [db.port] Input should be a valid integer\n"
            "  - conf/prod/b.yaml:7 [db.user] environment variable 'U' is not set",
            hint="fix the listed files and keys",
        )
        result = runner.invoke(_demo(error), ["boom"])
        assert result.exit_code == commands.EXIT_CONFIG
        lines = result.output.splitlines()
        assert lines[0] == "pysetl: error: Cannot load config 'conf': 2 problems"
        assert "conf/base/a.yaml:2 [db.port]" in lines[1]
        assert "conf/prod/b.yaml:7 [db.user]" in lines[2]
        assert lines[3] == "  hint: fix the listed files and keys"


class TestProcessSettings:
    """``PYSETL_*`` variables are parsed once per invocation, by ``pysetl.settings``."""

    @pytest.fixture
    def show_missing(self, runner, tmp_path):
        """Run ``pysetl runs show nope`` (a run history error) with ``env``."""
        db = tmp_path / "h.db"

        def run(env: dict[str, str], *options: str):
            args = [*options, "--history", str(db), "runs", "show", "nope"]
            return runner.invoke(app, args, env=env)

        return run

    @pytest.mark.parametrize("value", ["0", "false", "off", "No", ""])
    def test_a_false_debug_variable_shows_no_traceback(self, show_missing, value):
        result = show_missing({"PYSETL_DEBUG": value})
        assert result.exit_code == commands.EXIT_HISTORY
        assert "pysetl: error: No run 'nope'" in result.output
        assert "Traceback" not in result.output

    @pytest.mark.parametrize("value", ["1", "true", "ON"])
    def test_a_true_debug_variable_shows_the_traceback(self, show_missing, value):
        result = show_missing({"PYSETL_DEBUG": value})
        assert result.exit_code == commands.EXIT_HISTORY
        assert "Traceback" in result.output

    def test_the_debug_option_wins_over_a_false_variable(self, show_missing):
        result = show_missing({"PYSETL_DEBUG": "0"}, "--debug")
        assert "Traceback" in result.output

    def test_a_bad_boolean_is_a_usage_error_naming_the_variable(self, show_missing):
        result = show_missing({"PYSETL_DEBUG": "maybe"})
        assert result.exit_code == commands.EXIT_USAGE == 2
        assert "PYSETL_DEBUG='maybe' is not a boolean" in result.output
        assert "Traceback" not in result.output

    def test_a_bad_log_format_variable_is_named(self, show_missing):
        result = show_missing({"PYSETL_LOG_FORMAT": "xml"})
        assert result.exit_code == 2
        assert "PYSETL_LOG_FORMAT" in result.output

    def test_options_win_over_the_variables(self, runner, tmp_path):
        env = {
            "PYSETL_LOG_FORMAT": "xml",
            "PYSETL_LOG_LEVEL": "LOUD",
            "PYSETL_HISTORY_URL": "nosuchdb://nowhere",
        }
        args = ["--log-format", "json", "--log-level", "warning"]
        args += ["--history", str(tmp_path / "h.db"), "runs", "list"]
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 0, result.output

    def test_the_history_variable_is_the_default(self, runner, tmp_path):
        env = {"PYSETL_HISTORY_URL": "memory://"}
        result = runner.invoke(app, ["runs", "show", "nope"], env=env)
        assert result.exit_code == commands.EXIT_HISTORY
        assert "memory" in result.output
        assert not (tmp_path / ".pysetl").exists()

    def test_each_invocation_reads_the_environment_anew(self, show_missing):
        assert "Traceback" in show_missing({"PYSETL_DEBUG": "1"}).output
        assert "Traceback" not in show_missing({"PYSETL_DEBUG": "0"}).output

    def test_the_settings_are_forgotten_after_the_command(
        self, show_missing, monkeypatch
    ):
        """An invocation leaves no settings behind that a later caller would see."""
        monkeypatch.delenv("PYSETL_DEBUG", raising=False)
        show_missing({"PYSETL_DEBUG": "1"})
        assert settings().debug is False


class TestHandlerWithoutTheRootCallback:
    """A group of ours whose callback sets no state reads ``PYSETL_DEBUG`` itself."""

    @pytest.mark.parametrize(
        ("value", "traceback"), [("0", False), ("off", False), ("1", True)]
    )
    def test_the_variable_decides(self, runner, value, traceback):
        result = runner.invoke(
            _demo(RuntimeError("boom")), ["boom"], env={"PYSETL_DEBUG": value}
        )
        assert result.exit_code == commands.EXIT_INTERNAL
        assert ("Traceback" in result.output) is traceback

    def test_a_bad_variable_shows_no_traceback(self, runner):
        result = runner.invoke(
            _demo(RuntimeError("boom")), ["boom"], env={"PYSETL_DEBUG": "maybe"}
        )
        assert result.exit_code == commands.EXIT_INTERNAL
        assert "internal error: RuntimeError: boom" in result.output
        assert "Traceback" not in result.output
