"""``pysetl run``: a project's pipeline with the whole stack, a summary, exit codes."""

from __future__ import annotations

import itertools
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from pysetl.cli import commands
from pysetl.cli.__main__ import app
from pysetl.errors import ConfigError, FactoryError
from pysetl.monitoring.history import SqliteRunHistory
from pysetl.runtime.project import find_project, run_project

_NAMES = itertools.count()

PIPELINES = """
import logging
from pysetl.workflow import Delivery, Factory, Pipeline

log = logging.getLogger("numbers")


class Extract(Factory[int]):
    def read(self):
        log.info("reading the numbers")
        return self

    def process(self):
        self.n = 21
        return self

    def write(self):
        return self

    def get(self):
        return self.n


class Broken(Factory[int]):
    n = Delivery[int]()

    def read(self):
        return self

    def process(self):
        raise KeyError("amount")

    def write(self):
        return self

    def get(self):
        return 0


def build(params):
    pipeline = Pipeline().add_stage_from_type(Extract)
    if params.get("broken") == "1":
        pipeline.add_stage_from_type(Broken)
    return pipeline


def asks_too_much(context, rocket):
    return Pipeline()


def uses_context(context):
    return Pipeline().add_stage_from_type(Extract)


def not_a_pipeline():
    return 42


def raises(params):
    raise ValueError("no such day: " + params.get("day", "?"))
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project with pipelines in a module of its own (a fresh name per test)."""
    module = f"numbers_etl_{next(_NAMES)}"
    (tmp_path / f"{module}.py").write_text(PIPELINES)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.pysetl]\n"
        'default = "numbers"\n'
        "[tool.pysetl.pipelines]\n"
        f'numbers = "{module}:build"\n'
        f'greedy = "{module}:asks_too_much"\n'
        f'odd = "{module}:not_a_pipeline"\n'
        f'with_context = "{module}:uses_context"\n'
        f'raising = "{module}:raises"\n'
        f'missing = "{module}:nowhere"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYSETL_OBSERVE", raising=False)
    monkeypatch.delenv("PYSETL_HISTORY_URL", raising=False)
    return tmp_path


@pytest.fixture
def runner():
    return CliRunner()


def _history(project):
    return SqliteRunHistory(project / ".pysetl" / "history.db")


class TestRun:
    def test_a_good_run_exits_0_with_a_summary_and_is_recorded(self, project, runner):
        result = runner.invoke(app, ["run"])
        assert result.exit_code == 0, result.output
        assert "Extract: started (stage 0)" in result.output
        assert "of pipeline 'numbers': succeeded" in result.output
        assert "slowest factories:" in result.output
        run_id = result.output.split("pysetl runs show ")[1].split()[0]
        history = _history(project)
        try:
            assert history.get_run(run_id).status == "succeeded"
            lines = history.search_logs(run_id).items
            assert ("Extract", "reading the numbers") in [
                (g.factory, g.message) for g in lines
            ]
        finally:
            history.close()

    def test_a_failing_run_exits_non_zero_with_context_and_hint_no_traceback(
        self, project, runner
    ):
        result = runner.invoke(app, ["run", "numbers", "--param", "broken=1"])
        assert result.exit_code == commands.exit_code_for(FactoryError("x"))
        assert result.exit_code != 0
        assert "of pipeline 'numbers': failed" in result.output
        assert "pysetl: error: Factory 'Broken' failed in 'process'" in result.output
        assert "factory Broken" in result.output
        assert "hint: key 'amount' is missing" in result.output
        assert "Traceback" not in result.output

    def test_debug_shows_the_traceback(self, project, runner):
        result = runner.invoke(app, ["--debug", "run", "-p", "broken=1"])
        assert result.exit_code != 0
        assert "Traceback" in result.output

    def test_no_observe_records_nothing(self, project, runner):
        result = runner.invoke(app, ["run", "--no-observe"])
        assert result.exit_code == 0, result.output
        assert "not recorded" in result.output
        assert not (project / ".pysetl").exists()

    @pytest.mark.parametrize(
        ("args", "expected"),
        [
            (["run", "nope"], "No pipeline 'nope'"),
            (["run", "greedy"], "asks for ['rocket']"),
            (["run", "odd"], "returned int, not a Pipeline"),
            (["run", "missing"], "cannot be imported"),
            (["run", "-p", "novalue"], "'novalue' is not key=value"),
            (["run", "raising", "-p", "day=x"], "raised ValueError: no such day: x"),
        ],
    )
    def test_bad_input_is_named(self, project, runner, args, expected):
        result = runner.invoke(app, args)
        assert result.exit_code != 0
        assert expected in " ".join(result.output.split())
        assert "Traceback" not in result.output


class TestProject:
    def test_it_is_found_from_a_subfolder(self, project):
        sub = project / "deep" / "er"
        sub.mkdir(parents=True)
        found = find_project(sub)
        assert found.root == project
        assert found.default == "numbers"
        assert found.conf == project / "conf"

    def test_several_pipelines_and_no_default_ask_which(self, tmp_path):
        (tmp_path / "pyproject.toml").write_text(
            '[tool.pysetl.pipelines]\na = "m:a"\nb = "m:b"\n'
        )
        with pytest.raises(ConfigError, match="Which pipeline") as caught:
            find_project(tmp_path).pick(None)
        assert "pysetl run NAME" in caught.value.hint

    def test_a_malformed_table_is_named(self, tmp_path):
        (tmp_path / "pyproject.toml").write_text("[tool.pysetl]\npipelines = 3\n")
        with pytest.raises(ConfigError, match="malformed"):
            find_project(tmp_path)

    def test_run_project_reports_rows_and_the_failure(self, project):
        report = run_project(params={"broken": "1"}, project_dir=project)
        assert report.status == "failed"
        assert isinstance(report.error, FactoryError)
        assert [line.name for line in report.factories] == ["Extract", "Broken"]
        assert report.slowest(1)[0].name in {"Extract", "Broken"}
        assert report.history_url is not None


class FakeBuilder:
    """``PySetl.builder()`` without Spark: records the Spark log level asked for."""

    levels: ClassVar[list[str | None]] = []

    def set_hooks(self, _hooks):
        return self

    def set_resolved_config(self, _config):
        return self

    def set_spark_log_level(self, level):
        self.levels.append(level)
        return self

    def getOrCreate(self):
        return object()


class TestVerbose:
    """``pysetl --verbose`` lets the Spark that ``run`` starts log at INFO."""

    @pytest.fixture
    def levels(self, monkeypatch):
        from pysetl import context

        FakeBuilder.levels = []
        monkeypatch.setattr(context.PySetl, "builder", staticmethod(FakeBuilder))
        return FakeBuilder.levels

    @pytest.mark.usefixtures("project")
    @pytest.mark.parametrize(
        ("options", "expected"),
        [((), None), (("--verbose",), "INFO"), (("-v",), "INFO")],
    )
    def test_the_level_reaches_the_builder(self, runner, levels, options, expected):
        """``None``: the builder uses PYSETL_SPARK_LOG_LEVEL, else WARN."""
        result = runner.invoke(app, [*options, "run", "with_context"])
        assert result.exit_code == 0, result.output
        assert levels == [expected]

    def test_it_is_in_the_help(self, runner):
        result = runner.invoke(app, ["--help"])
        assert "--verbose" in result.output
