"""Fixtures of the alert tests: loopback HTTP receivers, a notifier module, a clock."""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from pysetl.workflow import Delivery, Factory

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# A real notifier, written into the test's folder and imported by its
# ``type:`` path like a user's own: it POSTs the batch as JSON to ``url``.
SINKS = """
import json
import urllib.request


class HttpNotifier:
    def __init__(self, *, name, url, token=None):
        self.name = name
        self.url = url
        self.token = token

    def send(self, messages, *, timeout):
        body = json.dumps(
            [{"key": m.key, "rule": m.rule, "state": m.state, "summary": m.summary,
              "run_id": m.run_id, "pipeline": m.pipeline, "factory": m.factory,
              "error_class": m.error_class, "hint": m.hint, "url": m.url,
              "labels": dict(m.labels)} for m in messages]
        ).encode()
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read()
"""


@dataclass
class Receiver:
    """A loopback HTTP server that records the JSON POSTed to it, by path."""

    server: ThreadingHTTPServer
    posts: list[tuple[str, Any]] = field(default_factory=list)
    status: int = 200
    hang: threading.Event | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def bodies(self, path: str) -> list[Any]:
        return [body for p, body in self.posts if p == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            me = holder[0]
            size = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(size) or b"null")
            if me.hang is not None:
                me.hang.wait(10)
            me.posts.append((self.path, body))
            self.send_response(me.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder.append(Receiver(server))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder[0]
    if holder[0].hang is not None:
        holder[0].hang.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def sinks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The ``type:`` of the test notifier (a module in the test's folder)."""
    folder = tmp_path / "sinkmod"
    folder.mkdir()
    (folder / "alert_sinks.py").write_text(SINKS)
    monkeypatch.syspath_prepend(str(folder))
    sys.modules.pop("alert_sinks", None)
    return "alert_sinks:HttpNotifier"


class Clock:
    """A clock the test moves (epoch seconds)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(autouse=True)
def _no_default_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYSETL_OBSERVE", raising=False)
    monkeypatch.delenv("PYSETL_HISTORY_URL", raising=False)
    # The root conftest resets the default hook manager around each test.


# ------------------------------------------------------------- pipelines
class Extract(Factory[int]):
    def read(self) -> Extract:
        return self

    def process(self) -> Extract:
        self.n = 21
        return self

    def write(self) -> Extract:
        return self

    def get(self) -> int:
        return self.n


class Double(Factory[int]):
    """Fails while ``Double.broken`` is true (a demo-like failing factory)."""

    broken = False
    n = Delivery[int]()

    def read(self) -> Double:
        return self

    def process(self) -> Double:
        if Double.broken:
            msg = "the numbers are wrong"
            raise ValueError(msg)
        self.out = self.n.get() * 2
        return self

    def write(self) -> Double:
        return self

    def get(self) -> int:
        return self.out
