"""``pysetl ui`` as a service: probes, workers, a root path behind a real proxy.

The service test starts ``pysetl ui --workers 2 --root-path /pysetl
--forwarded-allow-ips 127.0.0.2`` as a real process and puts the tiny
reverse proxy of ``proxy.py`` before it (connecting from 127.0.0.2 and
saying its clients came over HTTPS); requests that bypass the proxy come
from 127.0.0.1, which the dashboard does not trust.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner
from typing_extensions import Self

from pysetl.cli.__main__ import app as cli
from pysetl.dashboard import create_app
from pysetl.dashboard._security import COOKIE
from pysetl.dashboard.server import check_forwarded_allow_ips, check_root_path
from pysetl.errors import DashboardError
from pysetl.monitoring.history import HistoryRecorder, SqliteRunHistory
from pysetl.workflow import Factory, HookManager, Pipeline

from .proxy import ReverseProxy

TOKEN = "service-test-token-4c1d9e"  # noqa: S105 - a test token, not a secret
STATIC = Path(__file__).resolve().parents[2] / "src/pysetl/dashboard/static"


class Quick(Factory[int]):
    def read(self) -> Self:
        return self

    def process(self) -> Self:
        return self

    def write(self) -> Self:
        return self

    def get(self) -> int:
        return 1


def recorded_history(path: Path) -> tuple[str, str]:
    """A SQLite history with one finished run and one running; their ids."""
    history = SqliteRunHistory(path)
    recorder = HistoryRecorder(history)
    pipeline = Pipeline(hooks=HookManager(observers=[recorder]), name="served")
    pipeline.add_stage_from_type(Quick)
    pipeline.run()
    pipeline.hooks.close()
    recorder.close()
    done = history.list_runs().items[0].run_id
    running = "01SERVICE0000000000000000R"
    history.start_run(running, "served")
    history.close()
    return done, running


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if (
                name in {"href", "src"}
                and value
                and not value.startswith(("#", "data:"))
            ):
                self.links.append(value)


class TestProbes:
    def test_liveness_and_readiness_answer_without_the_token(self, tmp_path, client_of):
        history = SqliteRunHistory(tmp_path / "h.db")
        client = client_of(create_app(history, token=TOKEN))
        assert client.get("/api/runs").status_code == 401
        live = client.get("/healthz")
        assert (live.status_code, live.json()) == (200, {"status": "alive"})
        ready = client.get("/readyz")
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
        assert client.head("/readyz").status_code == 200
        assert client.get("/healthz").headers["content-security-policy"]

    def test_readiness_fails_while_the_history_cannot_be_read(
        self, tmp_path, client_of
    ):
        path = tmp_path / "h.db"
        history = SqliteRunHistory(path)
        client = client_of(create_app(history))
        assert client.get("/readyz").status_code == 200
        with sqlite3.connect(path) as conn:  # someone broke the store
            conn.execute("DROP TABLE pysetl_runs")
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "not_ready"}  # nothing about where
        assert client.get("/api/health").json()["status"] == "unhealthy"
        history.close()


class TestOptions:
    @pytest.mark.parametrize("bad", ["pysetl", "/a b", "/x?y=1", "/../etc"])
    def test_a_root_path_that_is_no_prefix_is_refused(self, bad):
        with pytest.raises(DashboardError, match="--root-path") as info:
            check_root_path(bad)
        assert "/pysetl" in info.value.hint

    def test_root_paths_and_proxy_lists_are_normalised(self):
        assert check_root_path("/pysetl/") == "/pysetl"
        assert check_root_path("") == ""
        assert check_forwarded_allow_ips(" 10.0.0.5, 10.1.0.0/16 ") == (
            "10.0.0.5,10.1.0.0/16"
        )
        assert check_forwarded_allow_ips(None) is None
        with pytest.raises(DashboardError, match=r"'proxy\.example' is not an IP"):
            check_forwarded_allow_ips("127.0.0.1,proxy.example")

    def test_the_cli_refuses_a_bad_root_path_before_serving(self, tmp_path):
        result = CliRunner().invoke(
            cli,
            ["--history", str(tmp_path / "h.db"), "ui", "--root-path", "pysetl"],
        )
        assert result.exit_code != 0
        assert "is not a path prefix" in result.output


def _worker_processes(parent: int) -> int:
    """How many uvicorn worker processes (multiprocessing spawns) ``parent`` has."""
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        if ppid == parent and b"spawn_main" in cmdline:
            count += 1
    return count


@pytest.fixture
def service(tmp_path):
    """``pysetl ui`` with two workers behind ``/pysetl``, trusting 127.0.0.2."""
    done, running = recorded_history(tmp_path / "h.db")
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - our interpreter, our CLI
        [
            sys.executable,
            "-m",
            "pysetl.cli",
            "--history",
            str(tmp_path / "h.db"),
            "ui",
            "--port",
            str(port),
            "--token",
            TOKEN,
            "--workers",
            "2",
            "--root-path",
            "/pysetl",
            "--forwarded-allow-ips",
            "127.0.0.2",
        ],
        env={**os.environ, "PYSETL_UI_TOKEN": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"pysetl ui did not become ready:\n{out}\n{err}")
        time.sleep(0.2)
    try:
        yield proc, port, done, running
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        assert TOKEN not in out + err  # --token is never printed


class TestBehindAProxy:
    def test_workers_serve_the_prefix_with_secure_cookies_from_the_trusted_proxy(
        self, service
    ):
        proc, port, done, running = service
        assert "2 workers" in proc.stdout.readline() + proc.stdout.readline()
        assert _worker_processes(proc.pid) == 2
        with (
            ReverseProxy(port) as proxy,
            httpx.Client(base_url=proxy.url, timeout=20) as browser,
        ):
            base = proxy.url
            assert browser.get(f"{base}healthz").json() == {"status": "alive"}
            assert browser.get(f"{base}readyz").json() == {"status": "ready"}

            # Sign-in through the proxy: the proxy said HTTPS, and it is trusted.
            login = browser.get(f"{base}?token={TOKEN}", follow_redirects=False)
            assert login.status_code == 303
            assert login.headers["location"] == "/pysetl/"
            cookie = login.headers["set-cookie"]
            assert "Path=/pysetl/" in cookie
            assert re.search(r";\s*Secure\b", cookie)
            browser.cookies.set(COOKIE, TOKEN)

            page = browser.get(base)
            assert page.status_code == 200
            links = _Links()
            links.feed(page.text)
            assert len(links.links) >= 8  # the stylesheet, scripts, openapi.json
            for link in links.links:
                assert not link.startswith("/"), f"{link} would miss the prefix"
                assert browser.get(base + link).status_code == 200, link
            runs = browser.get(f"{base}api/runs", params={"limit": 5}).json()
            assert {r["run_id"] for r in runs["items"]} == {done, running}
            detail = browser.get(f"{base}api/runs/{done}").json()
            assert detail["run"]["status"] == "succeeded"
            assert browser.get(f"{base}openapi.json").json()["servers"] == [
                {"url": "/pysetl"}
            ]
            # The live feed flows through the proxy from whichever worker.
            with browser.stream("GET", f"{base}api/runs/{running}/stream") as feed:
                assert feed.headers["content-type"].startswith("text/event-stream")
                first = next(feed.iter_lines())
                assert first == ": connected"
            assert all(p.startswith("/") for p in proxy.forwarded)
            assert not any(p.startswith("/pysetl") for p in proxy.forwarded)

        # Straight to the dashboard from 127.0.0.1 (not a trusted proxy): the
        # same headers are ignored, so the cookie is not marked Secure.
        direct = httpx.get(
            f"http://127.0.0.1:{port}/?token={TOKEN}",
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"},
            follow_redirects=False,
        )
        assert direct.status_code == 303
        assert "Secure" not in direct.headers["set-cookie"]


def test_the_page_fetches_only_relative_urls():
    """Every URL the page's scripts fetch is relative, so a prefix carries over."""
    absolute = re.compile(r"""(fetch|EventSource)\(\s*[`'"]/""")
    for script in STATIC.glob("*.js"):
        assert not absolute.search(script.read_text()), script.name
