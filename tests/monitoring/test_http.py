"""The exporters' kept-alive HTTP adapter, against real servers on loopback."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar

import pytest
import requests

from pysetl.monitoring._http import KeepAliveAdapter, kept_alive_session

if TYPE_CHECKING:
    from collections.abc import Iterator


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers 201 with a body; notes each request's client port, path and body."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[tuple[int, str, bytes, str]]] = []
    cookies: ClassVar[list[str | None]] = []
    close_after: ClassVar[bool] = False  # drop the connection after each answer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).seen.append(
            (self.client_address[1], self.path, body, self.headers["Host"])
        )
        type(self).cookies.append(self.headers["Cookie"])
        answer = b'{"ok": true}'
        self.send_response(201)
        self.send_header("Set-Cookie", "lb=node-2; Path=/")
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        # Closed with no "Connection: close": the client finds out at its next send.
        self.close_connection = type(self).close_after

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Recorder]]]:
    handler = type(
        "Recorder", (_Recorder,), {"seen": [], "cookies": [], "close_after": False}
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def _session(adapter: KeepAliveAdapter) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", adapter)
    return session


def test_requests_share_one_connection(server: tuple[str, type[_Recorder]]) -> None:
    url, handler = server
    adapter = KeepAliveAdapter()
    session = _session(adapter)
    answers = [
        session.post(f"{url}/v1/traces?x=1", data=f"é{i}".encode(), timeout=5)
        for i in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert answers[0].json() == {"ok": True}
    assert answers[0].headers["content-type"].startswith("application/json")
    assert answers[0].encoding == "utf-8"
    assert answers[0].url == f"{url}/v1/traces?x=1"
    assert [s[1:3] for s in handler.seen] == [
        ("/v1/traces?x=1", f"é{i}".encode()) for i in range(3)
    ]
    assert len({s[0] for s in handler.seen}) == 1  # one client port: one connection
    assert handler.seen[0][3] == url.removeprefix("http://")
    assert adapter.opened == 1
    session.close()
    session.close()  # idempotent


def test_the_sessions_cookies_are_kept_as_requests_keeps_them(
    server: tuple[str, type[_Recorder]],
) -> None:
    """A load balancer's sticky cookie comes back on the next request."""
    url, handler = server
    session = _session(KeepAliveAdapter())
    first = session.post(url, data=b"1", timeout=5)
    session.post(url, data=b"2", timeout=5)
    assert first.cookies.get("lb") == "node-2"
    assert handler.cookies == [None, "lb=node-2"]
    first.close()  # a response read whole closes without a connection to free


def test_text_bodies_go_as_utf8(server: tuple[str, type[_Recorder]]) -> None:
    url, handler = server
    session = _session(KeepAliveAdapter())
    session.post(url, data="naïve ✓", timeout=5)  # requests leaves text as text
    assert handler.seen[-1][2] == "naïve ✓".encode()
    assert handler.seen[-1][1] == "/"


def test_a_connection_closed_while_idle_is_replaced_once(
    server: tuple[str, type[_Recorder]],
) -> None:
    url, handler = server
    handler.close_after = True
    adapter = KeepAliveAdapter()
    session = _session(adapter)
    for i in range(3):
        assert session.post(url, data=b"%d" % i, timeout=5).status_code == 201
        time.sleep(0.05)  # the server has closed its end by now
    # Each request reached the server once, each on a connection of its own.
    assert [s[2] for s in handler.seen] == [b"0", b"1", b"2"]
    assert len({s[0] for s in handler.seen}) == 3
    assert adapter.opened == 3


def test_a_refused_connection_is_requests_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nobody listens once it is closed
    session = _session(KeepAliveAdapter())
    with pytest.raises(requests.exceptions.ConnectionError):
        session.post(f"http://127.0.0.1:{port}/", data=b"x", timeout=2)


def test_a_silent_receiver_is_a_read_timeout() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()  # the kernel accepts; nobody ever answers
        port = sock.getsockname()[1]
        session = _session(KeepAliveAdapter())
        start = time.monotonic()
        with pytest.raises(requests.exceptions.ReadTimeout):
            session.post(f"http://127.0.0.1:{port}/", data=b"x", timeout=(2, 0.3))
        assert time.monotonic() - start < 2


def test_a_proxied_request_goes_through_requests_own_adapter(
    server: tuple[str, type[_Recorder]],
) -> None:
    proxy, handler = server  # the recorder plays the proxy: it sees the full URL
    adapter = KeepAliveAdapter()
    session = _session(adapter)
    session.proxies = {"http": proxy}
    answer = session.post(
        "http://collector.invalid:4318/v1/traces", data=b"x", timeout=5
    )
    assert answer.status_code == 201
    assert handler.seen[-1][1] == "http://collector.invalid:4318/v1/traces"
    assert adapter.opened == 0  # requests' own adapter sent it


def test_the_session_reads_the_environment_once(
    server: tuple[str, type[_Recorder]], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy, handler = server
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setenv("NO_PROXY", "")
    session = kept_alive_session("http://collector.invalid:4318/v1/traces")
    monkeypatch.delenv("HTTP_PROXY")  # too late: the session asked already
    answer = session.post(
        "http://collector.invalid:4318/v1/traces", data=b"x", timeout=5
    )
    assert answer.status_code == 201
    assert handler.seen[-1][1] == "http://collector.invalid:4318/v1/traces"
    assert session.trust_env is False


class _Noting(KeepAliveAdapter):
    """Notes each prepared request it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.prepared: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        self.prepared.append(request)
        return super().send(request, *args, **kwargs)


@pytest.mark.parametrize(
    ("method", "path", "data", "headers"),
    [
        ("POST", "/v1/traces", b"\x00\x01", {"Content-Type": "application/x-protobuf"}),
        ("POST", "/api/v1/lineage?x=1", "naïve ✓", {"Accept": None, "X-A": "b"}),
        ("POST", "", None, None),
        ("PUT", "/metrics/job/demo", b"", {"Content-Type": "text/plain"}),
    ],
)
def test_a_plain_request_is_prepared_as_requests_prepares_it(
    server: tuple[str, type[_Recorder]],
    method: str,
    path: str,
    data: Any,
    headers: dict[str, Any] | None,
) -> None:
    url, _ = server
    adapter = _Noting()
    session = kept_alive_session(url, adapter=adapter)
    answer = session.request(method, url + path, data=data, headers=headers, timeout=5)
    assert answer.status_code in {201, 501}  # the recorder answers POST only
    (sent,) = adapter.prepared
    plain = requests.Session()
    expected = plain.prepare_request(
        requests.Request(method, url + path, data=data, headers=headers)
    )
    assert (sent.method, sent.url, sent.body) == (
        expected.method,
        expected.url,
        expected.body,
    )
    assert dict(sent.headers) == dict(expected.headers)
    assert sent.hooks == expected.hooks


def test_other_requests_go_through_requests_own_preparation(
    server: tuple[str, type[_Recorder]],
) -> None:
    url, handler = server
    adapter = _Noting()
    session = kept_alive_session(url, adapter=adapter)
    session.post(url, json={"a": 1}, params={"q": "1 2"}, timeout=5)
    assert handler.seen[-1][1:3] == ("/?q=1+2", b'{"a": 1}')
    assert adapter.prepared[-1].headers["Content-Type"] == "application/json"
    # the receiver's cookie is in the jar now: the next request sends it
    session.post(url, data=b"2", timeout=5)
    assert handler.cookies == [None, "lb=node-2"]


def test_a_plain_request_s_headers_are_checked_as_requests_checks_them() -> None:
    session = kept_alive_session("http://127.0.0.1:9/")
    with pytest.raises(requests.exceptions.InvalidHeader, match="header value"):
        session.post("http://127.0.0.1:9/", data=b"3", headers={"X-Bad": "a\r\nb"})
