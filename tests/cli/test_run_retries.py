"""``pysetl run`` with the config's ``execution:`` section: a flaky factory retried."""

from __future__ import annotations

import itertools

import pytest
from typer.testing import CliRunner

from pysetl.cli.__main__ import app
from pysetl.monitoring.history import SqliteRunHistory
from pysetl.runtime.project import run_project

_NAMES = itertools.count()

PIPELINES = """
from pysetl.workflow import Factory, Pipeline

CALLS = []


class Flaky(Factory[int]):
    def read(self):
        return self

    def process(self):
        CALLS.append(1)
        if len(CALLS) == 1:
            raise ConnectionError("the source dropped the connection")
        return self

    def write(self):
        return self

    def get(self):
        return len(CALLS)


def build():
    return Pipeline().add_stage_from_type(Flaky)
"""

EXECUTION = """\
execution:
  factories:
    Flaky:
      retry: {max_attempts: 2, delay: 0.001, retry_on: [ConnectionError]}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    module = f"flaky_etl_{next(_NAMES)}"
    (tmp_path / f"{module}.py").write_text(PIPELINES)
    (tmp_path / "conf" / "base").mkdir(parents=True)
    (tmp_path / "conf" / "base" / "execution.yaml").write_text(EXECUTION)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pysetl]\ndefault = "flaky"\n'
        f'[tool.pysetl.pipelines]\nflaky = "{module}:build"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYSETL_OBSERVE", raising=False)
    monkeypatch.delenv("PYSETL_HISTORY_URL", raising=False)
    return tmp_path


def test_the_config_retries_a_flaky_factory_and_the_progress_says_so(project):
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 0, result.output
    assert "Flaky: started (stage 0)" in result.output
    assert "Flaky: failed in" in result.output
    assert "Flaky: started (stage 0, attempt 2)" in result.output
    assert "of pipeline 'flaky': succeeded" in result.output
    run_id = result.output.split("pysetl runs show ")[1].split()[0]
    history = SqliteRunHistory(project / ".pysetl" / "history.db")
    try:
        attempts = history.list_factory_attempts(run_id).items
        assert [(a.attempt, a.status) for a in attempts] == [
            (1, "failed"),
            (2, "succeeded"),
        ]
    finally:
        history.close()


def test_the_report_has_one_line_per_factory_its_last_attempt(project):
    report = run_project(project_dir=project)
    assert report.status == "succeeded"
    assert [(line.name, line.status) for line in report.factories] == [
        ("Flaky", "succeeded")
    ]
