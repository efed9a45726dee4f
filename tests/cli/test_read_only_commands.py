"""Read-only commands (``runs list``, ``runs show``, ``logs``, ``ui``) create nothing.

They run as real subprocesses in a fresh project folder, so the project's
history discovery is exercised as a user meets it.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer

from pysetl.cli import commands
from pysetl.cli._state import CliState, cli_settings, open_history_of
from pysetl.monitoring.history import SqliteRunHistory
from pysetl.settings import Settings, settings

TIMEOUT = 60


def _pysetl(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSETL_")}
    return subprocess.run(  # noqa: S603 - our interpreter and our command
        [sys.executable, "-m", "pysetl.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh project folder: a ``pyproject.toml`` and nothing else."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    return tmp_path


@pytest.fixture
def other_app(tmp_path: Path) -> Path:
    """Another application's SQLite file (rollback journal, one table)."""
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    return path


def _tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master ORDER BY name").fetchall()
    return [name for (name,) in rows]


def _journal_mode(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])


class TestFreshProject:
    @pytest.mark.parametrize(
        "args", [("runs", "list"), ("runs", "show", "01NOPE"), ("logs", "01NOPE")]
    )
    def test_no_folder_or_database_is_created(self, project, args):
        """Before: each created ``.pysetl/history.db`` with every table."""
        result = _pysetl(project, *args)
        assert result.returncode in {commands.EXIT_OK, commands.EXIT_HISTORY}
        assert "Traceback" not in result.stderr
        assert sorted(p.name for p in project.iterdir()) == ["pyproject.toml"]

    def test_the_list_says_there_are_no_runs(self, project):
        result = _pysetl(project, "runs", "list")
        assert result.returncode == commands.EXIT_OK, result.stderr
        assert "No runs." in result.stdout

    def test_ui_serves_an_empty_history_and_creates_nothing(self, project):
        """Before: ``pysetl ui`` created ``.pysetl/history.db`` to serve it."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYSETL_")}
        proc = subprocess.Popen(  # noqa: S603 - our interpreter and our command
            [sys.executable, "-m", "pysetl.cli", "ui", "--port", str(port)],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        try:
            line = proc.stdout.readline() if proc.stdout else ""
            assert "pysetl dashboard: http://127.0.0.1:" in line, line
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(TIMEOUT)
            if proc.stdout:
                proc.stdout.close()
        assert sorted(p.name for p in project.iterdir()) == ["pyproject.toml"]


class TestAnotherApplicationsDatabase:
    @pytest.mark.parametrize("args", [("runs", "list"), ("logs", "01NOPE")])
    def test_is_refused_and_left_as_it_was(self, project, other_app, args):
        """Before: the pysetl tables were added to it, and it was set to WAL."""
        result = _pysetl(project, "--history", str(other_app), *args)
        assert result.returncode == commands.EXIT_HISTORY
        assert "holds no pysetl run history" in result.stderr
        assert "hint:" in result.stderr
        assert _tables(other_app) == ["orders"]
        assert _journal_mode(other_app) == "delete"


class TestOpenHistoryOf:
    @pytest.mark.parametrize(("name", "created"), [("ui", False), ("config", True)])
    def test_the_command_name_decides(self, tmp_path, name, created):
        path = tmp_path / "h.db"
        state = CliState(history_url=str(path), debug=False)
        ctx = typer.Context(click.Command(name), info_name=name)
        ctx.obj = state
        history = open_history_of(ctx)
        history.close()
        assert path.exists() is created

    def test_an_explicit_choice_wins(self, tmp_path):
        path = tmp_path / "h.db"
        ctx = typer.Context(click.Command("ui"), info_name="ui")
        ctx.obj = CliState(history_url=str(path), debug=False)
        open_history_of(ctx, create=True).close()
        assert isinstance(open_history_of(ctx), SqliteRunHistory)


class TestCliSettings:
    def test_the_settings_the_root_callback_read(self, monkeypatch):
        monkeypatch.setenv("PYSETL_ENV", "process")
        ctx = typer.Context(click.Command("ui"), info_name="ui")
        ctx.obj = CliState(history_url=None, debug=False, settings=Settings(env="read"))
        assert cli_settings(ctx).env == "read"

    def test_without_the_root_callback_the_process_settings(self, monkeypatch):
        monkeypatch.setenv("PYSETL_ENV", "process")
        ctx = typer.Context(click.Command("ui"), info_name="ui")
        assert cli_settings(ctx) is settings()
