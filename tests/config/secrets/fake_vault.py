"""A fake HashiCorp Vault speaking Vault's HTTP API on 127.0.0.1, in a thread.

No ``vault`` binary can be installed here, so the tests drive the real hvac
client against this server. It implements what the secret backend uses:

* KV v2 reads, ``GET /v1/<mount>/data/<path>`` -> ``{"data": {"data": {...},
  "metadata": {...}}}``; KV v1 reads, ``GET /v1/<mount>/<path>`` ->
  ``{"data": {...}}``;
* token auth with the ``X-Vault-Token`` header: an unknown or missing token,
  or a token whose policy does not cover the API path, gets
  ``403 {"errors": ["permission denied"]}``, as Vault answers;
* a missing secret gets ``404 {"errors": []}``, as Vault answers;
* ``X-Vault-Namespace`` is recorded with each request.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    has_token: bool
    namespace: str | None


@dataclass
class FakeVault:
    """Mounts of KV secrets, tokens with path policies, and the requests seen."""

    mounts: dict[str, int] = field(default_factory=lambda: {"secret": 2, "kv": 1})
    secrets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, tuple[str, ...]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def put(self, mount: str, path: str, data: dict[str, Any]) -> None:
        self.secrets[(mount, path.strip("/"))] = dict(data)

    def add_token(self, token: str, *policy_paths: str) -> None:
        """A token that may read the API paths matching ``policy_paths`` (globs)."""
        self.tokens[token] = policy_paths

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeVault:
        vault = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                token = self.headers.get("X-Vault-Token")
                vault.requests.append(
                    Request(
                        "GET",
                        self.path,
                        bool(token),
                        self.headers.get("X-Vault-Namespace"),
                    )
                )
                status, body = vault.answer(self.path, token)
                self._send(status, body)

            def do_POST(self) -> None:
                self._send(405, {"errors": ["unsupported operation"]})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def answer(self, url: str, token: str | None) -> tuple[int, dict[str, Any]]:
        path = url.split("?", 1)[0]
        if not path.startswith("/v1/"):
            return 404, {"errors": []}
        api_path = path[len("/v1/") :].strip("/")
        policy = self.tokens.get(token or "")
        if policy is None or not any(fnmatchcase(api_path, p) for p in policy):
            return 403, {"errors": ["permission denied"]}
        mount, _, rest = api_path.partition("/")
        version = self.mounts.get(mount)
        if version is None:
            return 404, {"errors": [f"no handler for route {api_path!r}"]}
        if version == 2:
            if not rest.startswith("data/"):
                return 404, {"errors": []}
            rest = rest[len("data/") :]
        data = self.secrets.get((mount, rest))
        if data is None:
            return 404, {"errors": []}
        envelope: dict[str, Any] = {
            "request_id": str(uuid.uuid4()),
            "lease_id": "",
            "renewable": False,
            "lease_duration": 0 if version == 2 else 2764800,
            "wrap_info": None,
            "warnings": None,
            "auth": None,
        }
        if version == 2:
            envelope["data"] = {
                "data": data,
                "metadata": {
                    "created_time": "2026-01-01T00:00:00.000000Z",
                    "custom_metadata": None,
                    "deletion_time": "",
                    "destroyed": False,
                    "version": 1,
                },
            }
        else:
            envelope["data"] = data
        return 200, envelope
