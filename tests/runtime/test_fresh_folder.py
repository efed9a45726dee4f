"""What a new user sees: a script in an empty folder, then the ``pysetl`` commands.

The script is a real interpreter in a subprocess (nothing wired, no config);
the commands run in the same folder and find its history by themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from pysetl.cli.__main__ import app

SCRIPT = """
import logging
from pysetl.workflow import Delivery, Factory, Pipeline

log = logging.getLogger("my_etl")


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


class Double(Factory[int]):
    n = Delivery[int]()

    def read(self):
        log.info("doubling %d", self.n.get())
        return self

    def process(self):
        raise KeyError("amount")

    def write(self):
        return self

    def get(self):
        return 0


Pipeline(name="numbers").add_stage_from_type(Extract).add_stage_from_type(Double).run()
"""

BLOCK_SQLALCHEMY = """
import sys


class NoSqlAlchemy:
    def find_spec(self, name, path=None, target=None):
        if name == "sqlalchemy" or name.startswith("sqlalchemy."):
            raise ImportError("No module named 'sqlalchemy' (blocked by the test)")


sys.meta_path.insert(0, NoSqlAlchemy())
"""


def _run_script(folder, code, **env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PYSETL_")}
    return subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-c", code],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env={**environ, **env},
        check=False,
    )


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYSETL_HISTORY_URL", raising=False)
    return tmp_path


def test_a_failing_script_is_recorded_and_the_commands_find_it(folder):
    done = _run_script(folder, SCRIPT)
    assert done.returncode == 1
    assert "KeyError" in done.stderr
    runner = CliRunner()
    listed = runner.invoke(app, ["runs", "list"])
    assert listed.exit_code == 0, listed.output
    (line,) = [row for row in listed.output.splitlines() if "numbers" in row]
    assert "failed" in line
    run_id = line.split()[0]
    logs = runner.invoke(app, ["logs", run_id])
    assert "Extract: reading the numbers" in logs.output
    assert "Double: doubling 21" in logs.output
    (error,) = [row for row in logs.output.splitlines() if " ERROR " in row]
    assert "Factory 'Double' failed in 'process'" in error
    assert "hint:" in error
    shown = runner.invoke(app, ["runs", "show", run_id])
    text = " ".join(shown.output.split())
    assert "factory Double" in text
    assert "hint: key 'amount' is missing" in text


def test_with_the_opt_out_nothing_is_written(folder):
    done = _run_script(folder, SCRIPT, PYSETL_OBSERVE="0")
    assert done.returncode == 1
    assert not (folder / ".pysetl").exists()
    assert list(folder.iterdir()) == []


def test_without_the_monitoring_extra_nothing_is_recorded_and_nothing_breaks(folder):
    good = SCRIPT.replace('raise KeyError("amount")', "return self")
    done = _run_script(folder, BLOCK_SQLALCHEMY + good)
    assert done.returncode == 0, done.stderr
    assert not (folder / ".pysetl").exists()
