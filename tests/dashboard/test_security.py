"""The dashboard's guard: token, read-only methods, hosts, headers, static files."""

from __future__ import annotations

import logging
import os

import httpx
import pytest

from pysetl.dashboard import create_app
from pysetl.dashboard._security import COOKIE, CSP
from pysetl.dashboard._throttle import AuthThrottle
from pysetl.errors import DashboardError

from .conftest import rid

TOKEN = "t0ken-For.tests_~+/="  # noqa: S105 - a test token


@pytest.fixture
def static_dir(tmp_path):
    root = tmp_path / "static"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><title>page</title>")
    (root / "app.js").write_text("console.log(1)")
    (root / "sub").mkdir()
    (root / "sub" / "app.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    (root / "escape").symlink_to(tmp_path / "secret.txt")
    (root / "escape_dir").symlink_to(tmp_path)
    (root / "inside").symlink_to(root / "app.js")
    return root


class TestToken:
    def test_every_request_needs_the_token(self, memory_history, client_of):
        client = client_of(create_app(memory_history, token=TOKEN))
        for path in [
            "/",
            "/api/runs",
            "/api/health",
            "/static/app.css",
            "/openapi.json",
        ]:
            response = client.get(path)
            assert response.status_code == 401, path
            body = response.json()
            assert body["error"] == "unauthorized"
            assert "/?token=" in body["hint"]
            assert response.headers["www-authenticate"] == "Bearer"

    def test_bearer_header(self, memory_history, client_of):
        client = client_of(create_app(memory_history, token=TOKEN))
        ok = client.get("/api/runs", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        bad = client.get("/api/runs", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        basic = client.get("/api/runs", headers={"Authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401

    def test_token_in_the_address_sets_a_strict_cookie(self, memory_history, client_of):
        client = client_of(create_app(memory_history, token=TOKEN))
        login = client.get("/", params={"token": TOKEN})
        assert login.status_code == 303
        assert login.headers["location"] == "/"
        cookie = login.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        # the client keeps the cookie: the page and the API now answer
        assert client.get("/").status_code == 200
        assert client.get("/api/runs").status_code == 200
        assert client.get(f"/api/runs/{rid(1)}").status_code == 200

    def test_the_right_token_from_another_host_is_still_refused(
        self, memory_history, client_of
    ):
        app = create_app(memory_history, token=TOKEN, allowed_hosts=["127.0.0.1"])
        client = client_of(app)
        response = client.get(
            "/", params={"token": TOKEN}, headers={"Host": "evil.example"}
        )
        assert response.status_code == 400
        assert "set-cookie" not in response.headers

    def test_a_wrong_token_in_the_address_is_refused(self, memory_history, client_of):
        client = client_of(create_app(memory_history, token=TOKEN))
        response = client.get("/", params={"token": "wrong"})
        assert response.status_code == 401
        assert "wrong" in response.json()["message"]
        assert "set-cookie" not in response.headers

    def test_a_wrong_or_malformed_cookie_is_refused(self, memory_history, client_of):
        client = client_of(create_app(memory_history, token=TOKEN))
        for cookie in [
            f"{COOKIE}=nope",
            f'{COOKIE}="\\',
            "garbage;;==",
            f"{COOKIE}={TOKEN}; expires=x; $x=1",  # the parser refuses it all
        ]:
            response = client.get("/api/runs", headers={"Cookie": cookie})
            assert response.status_code == 401, cookie

    def test_a_token_a_cookie_cannot_carry_is_refused(self, memory_history):
        with pytest.raises(DashboardError, match="cannot carry") as info:
            create_app(memory_history, token="a b;c")  # noqa: S106 - a bad one
        assert "token_urlsafe" in info.value.hint


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TestBruteForce:
    """Wrong tokens are logged (address, never the guess) and slowed per client."""

    GUESS = "guess-Zq81xQ"  # the tests look for it in every log line

    def test_wrong_tokens_are_logged_and_then_answered_429(
        self, memory_history, client_of, caplog
    ):
        clock = FakeClock()
        throttle = AuthThrottle(burst=3, refill_seconds=5.0, clock=clock)
        client = client_of(create_app(memory_history, token=TOKEN, throttle=throttle))
        wrong = {"Authorization": f"Bearer {self.GUESS}"}
        right = {"Authorization": f"Bearer {TOKEN}"}
        caplog.set_level(logging.WARNING, "pysetl.dashboard")
        for _ in range(3):
            assert client.get("/api/runs", headers=wrong).status_code == 401
        refused = client.get("/api/runs", headers=right)  # not even compared
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "5"
        assert refused.json()["error"] == "too_many_attempts"
        assert "5 s" in refused.json()["message"]
        assert client.get("/", params={"token": TOKEN}).status_code == 429
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 3  # one per wrong token, none per 429
        assert all("dashboard_token_refused" in line for line in lines)
        assert all("client='127.0.0.1'" in line for line in lines)
        assert "tries_left=0" in lines[-1]
        assert not any(self.GUESS in line or TOKEN in line for line in caplog.text)
        clock.now += 5  # one more try after the refill
        assert client.get("/api/runs", headers=right).status_code == 200

    def test_a_guesser_does_not_lock_out_another_client(
        self, memory_history, serve_app
    ):
        clock = FakeClock()
        throttle = AuthThrottle(burst=1, refill_seconds=60.0, clock=clock)
        server = serve_app(create_app(memory_history, token=TOKEN, throttle=throttle))
        other = httpx.HTTPTransport(local_address="127.0.0.2")
        with (
            httpx.Client(base_url=server.url, timeout=10) as guesser,
            httpx.Client(base_url=server.url, timeout=10, transport=other) as user,
        ):
            for status in (401, 429, 429):
                response = guesser.get("/", params={"token": self.GUESS})
                assert response.status_code == status
            auth = {"Authorization": f"Bearer {TOKEN}"}
            assert user.get("/api/runs", headers=auth).status_code == 200

    def test_each_kind_of_wrong_token_counts_and_a_wrong_cookie_is_cleared(
        self, memory_history, client_of, caplog
    ):
        throttle = AuthThrottle(burst=10, clock=FakeClock())
        client = client_of(create_app(memory_history, token=TOKEN, throttle=throttle))
        caplog.set_level(logging.WARNING, "pysetl.dashboard")
        assert client.get("/api/runs").status_code == 401  # no token: not a guess
        assert len(throttle) == 0
        response = client.get("/api/runs", headers={"Cookie": f"{COOKIE}=x1"})
        assert response.status_code == 401
        cleared = response.headers["set-cookie"]
        assert cleared.startswith(f"{COOKIE}=;")
        assert "Max-Age=0" in cleared
        client.get("/", params={"token": "x2"})
        client.get("/api/runs", headers={"Authorization": "Basic x3"})
        kinds = [
            r.getMessage().split("credential=")[1].split()[0] for r in caplog.records
        ]
        assert kinds == ["cookie", "address", "bearer"]
        assert "tries_left=7" in caplog.records[-1].getMessage()
        assert "9 more wrong tries" in response.json()["hint"]


class TestReadOnly:
    @pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    def test_only_get_and_head(self, memory_history, client_of, method):
        client = client_of(create_app(memory_history))
        response = client.request(method, "/api/runs")
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD"
        assert "read-only" in response.json()["message"]

    def test_head_works(self, memory_history, client_of):
        client = client_of(create_app(memory_history))
        assert client.head("/api/health").status_code == 200


class TestHeaders:
    def test_security_headers_on_every_answer(self, memory_history, client_of):
        client = client_of(create_app(memory_history, token=TOKEN))
        responses = [
            client.get("/api/runs"),  # 401
            client.post("/api/runs"),  # 405
            client.get("/api/health", headers={"Authorization": f"Bearer {TOKEN}"}),
        ]
        for response in responses:
            assert response.headers["content-security-policy"] == CSP
            assert "script-src 'self'" in CSP
            assert "frame-ancestors 'none'" in CSP
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"

    def test_allowed_hosts(self, memory_history, client_of):
        client = client_of(
            create_app(memory_history, allowed_hosts=["127.0.0.1", "localhost", "::1"])
        )
        assert client.get("/api/health").status_code == 200
        for host in ["localhost:8765", "[::1]:8765", "LOCALHOST", "::1", "[::1]"]:
            ok = client.get("/api/health", headers={"Host": host})
            assert ok.status_code == 200, host
        evil = client.get("/api/health", headers={"Host": "evil.example:8765"})
        assert evil.status_code == 400
        assert evil.json()["error"] == "bad_host"


class TestStatic:
    def test_index_and_files(self, memory_history, client_of, static_dir):
        client = client_of(create_app(memory_history, static_dir=static_dir))
        page = client.get("/")
        assert page.text == "<!doctype html><title>page</title>"
        assert page.headers["content-type"].startswith("text/html")
        js = client.get("/static/app.js")
        assert js.text == "console.log(1)"
        assert js.headers["content-type"].startswith("text/javascript")
        css = client.get("/static/sub/app.css")
        assert css.headers["content-type"].startswith("text/css")
        assert client.get("/static/inside").text == "console.log(1)"

    def test_without_a_page_a_placeholder(self, memory_history, client_of, tmp_path):
        client = client_of(create_app(memory_history, static_dir=tmp_path / "none"))
        page = client.get("/")
        assert page.status_code == 200
        assert "/openapi.json" in page.text

    @pytest.mark.parametrize(
        "path",
        [
            "/static/..%2fsecret.txt",
            "/static/..%2F..%2Fsecret.txt",
            "/static/%2e%2e/secret.txt",
            "/static/%2E%2E%2Fsecret.txt",
            "/static/sub/..%2f..%2fsecret.txt",
            "/static/sub%2f..%2f..%2fsecret.txt",
            "/static/..%5csecret.txt",
            "/static/%2fetc%2fpasswd",
            "/static//etc/passwd",
            "/static/C:%5cwindows",
            "/static/escape",
            "/static/escape_dir/secret.txt",
            "/static/app.js%00.png",
            "/static/../secret.txt",
            "/static/sub/../../secret.txt",
            "/static/%252e%252e%252fsecret.txt",
            "/static/%252e%252e/secret.txt",
            "/static/..%255csecret.txt",
            "/static/%5c..%5csecret.txt",
            "/static/.%2e/secret.txt",
            "/static/",
            "/static/sub",
            "/static/missing.js",
        ],
    )
    def test_nothing_outside_the_folder(
        self, memory_history, serve_app, static_dir, path
    ):
        server = serve_app(create_app(memory_history, static_dir=static_dir))
        # A raw request: the client must not normalise the path before sending.
        with httpx.Client(timeout=10) as client:
            request = client.build_request("GET", server.url)
            request.url = request.url.copy_with(raw_path=path.encode())
            response = client.send(request)
        assert "TOP SECRET" not in response.text
        if "%00" in path:  # a NUL byte is refused before any lookup
            assert response.status_code == 422, path
            assert response.json()["error"] == "invalid_parameter"
            return
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"

    def test_absolute_path_resolution_refused(self, static_dir):
        from pysetl.dashboard._static import resolve_static

        assert resolve_static(static_dir, os.fspath(static_dir / "app.js")) is None
        assert resolve_static(static_dir, "app.js") == (static_dir / "app.js").resolve()
        loop = static_dir / "loop"
        loop.symlink_to(loop)
        assert resolve_static(static_dir, "loop") is None

    def test_the_shipped_folder_is_the_default(self, memory_history, client_of):
        client = client_of(create_app(memory_history))
        assert client.get("/").status_code == 200
