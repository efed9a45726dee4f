"""``pysetl ui``: the extra, the loopback rule, and a real server from the command."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from pysetl.cli.__main__ import app
from pysetl.cli.commands import EXIT_OTHER
from pysetl.dashboard.app import TOKEN_PATTERN
from pysetl.dashboard.server import (
    check_bind,
    generate_token,
    is_loopback,
    token_weakness,
)
from pysetl.errors import DashboardError
from pysetl.monitoring.history import SqliteRunHistory

STRONG = "Str0ng-Token_for.tests"


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def history_url(tmp_path):
    path = tmp_path / "history.db"
    with SqliteRunHistory(path) as history:
        history.start_run("01RUN1", "daily", started_at=1_700_000_000.0)
    return f"sqlite:///{path}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TestRefusals:
    @pytest.mark.parametrize("module", ["fastapi", "uvicorn"])
    def test_without_the_extra_it_names_the_extra(self, runner, monkeypatch, module):
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed
        result = runner.invoke(app, ["ui"])
        assert result.exit_code == EXIT_OTHER
        assert repr(module) in result.output
        assert "pip install 'pysetl[dashboard]'" in result.output

    def test_a_public_address_without_a_token_is_refused(self, runner, monkeypatch):
        monkeypatch.delenv("PYSETL_UI_TOKEN", raising=False)
        result = runner.invoke(app, ["ui", "--host", "0.0.0.0"])  # noqa: S104
        assert result.exit_code == EXIT_OTHER
        assert "without a token" in result.output
        assert "--token" in result.output

    def test_a_weak_token_off_loopback_is_refused(self, runner, monkeypatch):
        """A one-character token used to be accepted on 0.0.0.0."""
        monkeypatch.setenv("PYSETL_UI_TOKEN", "Q")
        result = runner.invoke(app, ["ui", "--host", "0.0.0.0"])  # noqa: S104
        assert result.exit_code == EXIT_OTHER
        assert "weak token (it has 1 characters, at least 16 needed)" in result.output
        assert "--generate-token" in result.output

    def test_a_token_and_generate_token_together_are_refused(self, runner):
        result = runner.invoke(app, ["ui", "--token", STRONG, "--generate-token"])
        assert result.exit_code == EXIT_OTHER
        assert "both a token and --generate-token" in result.output
        assert STRONG not in result.output

    def test_a_port_in_use_is_a_clear_error(self, runner, history_url):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            result = runner.invoke(
                app, ["--history", history_url, "ui", "--port", str(port)]
            )
        assert result.exit_code == EXIT_OTHER
        assert "cannot listen" in result.output
        assert "--port" in result.output


class TestLoopback:
    @pytest.mark.parametrize(
        "host", ["127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost", "LOCALHOST"]
    )
    def test_loopback(self, host):
        assert is_loopback(host)
        check_bind(host, None)

    @pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "no-such.invalid"])  # noqa: S104
    def test_not_loopback(self, host):
        assert not is_loopback(host)
        with pytest.raises(DashboardError, match="without a token"):
            check_bind(host, None)
        check_bind(host, STRONG)  # a strong token allows it

    @pytest.mark.parametrize(
        ("token", "why"),
        [
            ("x", "it has 1 characters, at least 16"),
            ("abcdefghijklmno", "it has 15 characters"),
            ("abababababababab", "it has 2 different characters, at least 8"),
        ],
    )
    def test_a_weak_token_is_refused_off_loopback_only(self, token, why):
        with pytest.raises(DashboardError, match="weak token") as info:
            check_bind("0.0.0.0", token)  # noqa: S104
        assert why in str(info.value)
        assert token not in str(info.value)
        assert "--generate-token" in info.value.hint
        check_bind("127.0.0.1", token)  # loopback: the user's own choice

    def test_a_generated_token_is_strong(self):
        token = generate_token()
        assert token_weakness(token) is None
        assert TOKEN_PATTERN.fullmatch(token)
        assert generate_token() != token

    def test_a_name_is_resolved(self):
        assert is_loopback(socket.gethostname()) in {True, False}


class TestServe:
    def _start(self, *args: str, env: dict[str, str] | None = None):
        proc = subprocess.Popen(  # noqa: S603 - our interpreter and our command
            [sys.executable, "-m", "pysetl.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
        line = proc.stdout.readline()
        assert "pysetl dashboard: http://127.0.0.1:" in line, line
        return proc, line

    def _stop(self, proc) -> None:
        proc.send_signal(signal.SIGINT)
        proc.wait(15)
        proc.stdout.close()

    def test_serves_the_history_on_loopback(self, history_url):
        port = free_port()
        proc, line = self._start("--history", history_url, "ui", "--port", str(port))
        try:
            assert f":{port}/" in line
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
                assert c.get("/api/health").json()["status"] == "ok"
                runs = c.get("/api/runs").json()["items"]
                assert [r["run_id"] for r in runs] == ["01RUN1"]
                # loopback-only: another Host header is refused
                evil = c.get("/api/health", headers={"Host": "evil.example"})
                assert evil.status_code == 400
        finally:
            self._stop(proc)
        assert proc.returncode in {0, 130, -signal.SIGINT}

    def test_with_alerts_it_checks_the_absence_rules_while_serving(
        self, history_url, tmp_path
    ):
        conf = tmp_path / "conf"
        (conf / "base").mkdir(parents=True)
        (conf / "base" / "alerts.yaml").write_text(
            "alerts:\n  rules:\n"
            "    - {name: nightly-missing, kind: absence, pipeline: nightly, "
            "within: 1h}\n"
        )
        port = free_port()
        proc, _ = self._start(
            "--history", history_url, "ui", "--port", str(port),
            "--alerts", str(conf), "--alerts-interval", "1",
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                command = [sys.executable, "-m", "pysetl.cli", "--history"]
                listed = subprocess.run(  # noqa: S603 - our interpreter and command
                    [*command, history_url, "alerts", "list"],
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                )
                if "nightly-missing" in listed.stdout:
                    break
                assert time.monotonic() < deadline, listed.stdout + listed.stderr
                time.sleep(0.5)
            assert "firing" in listed.stdout
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
                assert c.get("/api/health").json()["status"] == "ok"
        finally:
            self._stop(proc)

    def test_a_bad_alerts_section_stops_it_before_serving(self, runner, tmp_path):
        conf = tmp_path / "conf"
        (conf / "base").mkdir(parents=True)
        (conf / "base" / "alerts.yaml").write_text(
            "alerts:\n  rules:\n    - {name: x, kind: absense, pipeline: p}\n"
        )
        history = f"sqlite:///{tmp_path / 'h.db'}"
        result = runner.invoke(
            app, ["--history", history, "ui", "--port", "0", "--alerts", str(conf)]
        )
        assert result.exit_code != 0
        assert "alerts.rules" in result.output

    def test_a_generated_token_is_printed_once_and_required(self, history_url):
        port = free_port()
        proc, _ = self._start(
            "--history", history_url, "ui", "--port", str(port), "--generate-token"
        )
        try:
            shown = proc.stdout.readline()
            assert shown.startswith("generated token (shown once, not logged): ")
            token = shown.rsplit(" ", 1)[1].strip()
            assert token_weakness(token) is None
            assert "?token=<token>" in proc.stdout.readline()
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
                assert c.get("/api/health").status_code == 401
                auth = {"Authorization": f"Bearer {token}"}
                assert c.get("/api/health", headers=auth).status_code == 200
        finally:
            self._stop(proc)

    def test_the_token_from_the_environment_is_required(self, history_url, tmp_path):
        port = free_port()
        opened = tmp_path / "opened.txt"
        browser = tmp_path / "browser"  # what --open runs: records the address
        browser.write_text(
            f"#!{sys.executable}\nimport sys\n"
            f"open({str(opened)!r}, 'w').write(sys.argv[1])\n"
        )
        browser.chmod(0o755)
        proc, _ = self._start(
            "--history",
            history_url,
            "ui",
            "--port",
            str(port),
            "--open",
            # '+', '/' and '=' are valid token characters that a URL must escape
            env={"PYSETL_UI_TOKEN": "env+token/1=", "BROWSER": str(browser)},
        )
        try:
            hint = proc.stdout.readline()
            assert "?token=<token>" in hint
            assert "env+token/1=" not in hint
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
                assert c.get("/api/health").status_code == 401
                auth = {"Authorization": "Bearer env+token/1="}
                assert c.get("/api/health", headers=auth).status_code == 200
            deadline = time.monotonic() + 10
            while not opened.exists() or not opened.read_text():
                assert time.monotonic() < deadline, "the browser was not opened"
                time.sleep(0.05)
            address = opened.read_text()
            assert address == f"http://127.0.0.1:{port}/?token=env%2Btoken%2F1%3D"
            with httpx.Client(timeout=10) as c:  # the opened address signs in
                login = c.get(address)
                assert login.status_code == 303, login.text
                assert c.get(f"http://127.0.0.1:{port}/api/health").status_code == 200
        finally:
            self._stop(proc)
