"""A tiny real reverse proxy on loopback, as nginx would stand before ``pysetl ui``.

It serves ``PREFIX/*`` on its own port and forwards each request to the
dashboard with the prefix stripped (nginx's ``proxy_pass http://up/;``),
from the source address ``source`` (any 127.0.0.0/8 address works on Linux),
adding ``X-Forwarded-For`` (the client) and ``X-Forwarded-Proto`` (what the
proxy says its clients used). Answers are streamed back chunk by chunk, so
the live feed (server-sent events) flows through it. Anything outside the
prefix is answered 404 by the proxy itself.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from typing_extensions import Self

PREFIX = "/pysetl"
_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade"}


class ReverseProxy:
    """``with ReverseProxy(upstream_port) as proxy: proxy.url`` (``.../pysetl/``)."""

    def __init__(
        self,
        upstream_port: int,
        *,
        source: str = "127.0.0.2",
        proto: str = "https",
        prefix: str = PREFIX,
    ) -> None:
        self.upstream_port = upstream_port
        self.source = source
        self.proto = proto
        self.prefix = prefix
        self.forwarded: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                """Quiet."""

            def do_GET(self) -> None:
                proxy._forward(self)

            do_HEAD = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}{prefix}/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        if not path.startswith(self.prefix + "/"):
            handler.send_error(404, "outside the proxied prefix")
            return
        upstream_path = path[len(self.prefix) :]
        self.forwarded.append(upstream_path)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP}
        headers["X-Forwarded-For"] = handler.client_address[0]
        headers["X-Forwarded-Proto"] = self.proto
        conn = http.client.HTTPConnection(
            "127.0.0.1",
            self.upstream_port,
            timeout=30,
            source_address=(self.source, 0),
        )
        try:
            conn.request(handler.command, upstream_path, headers=headers)
            answer = conn.getresponse()
            handler.send_response(answer.status, answer.reason)
            for key, value in answer.getheaders():
                if key.lower() not in _HOP:
                    handler.send_header(key, value)
            length = answer.getheader("content-length")
            if length is None:  # a stream: pass it on as it comes, then close
                handler.send_header("Connection", "close")
                handler.close_connection = True
            handler.end_headers()
            while chunk := answer.read1(65536):
                handler.wfile.write(chunk)
                handler.wfile.flush()
        except (ConnectionError, TimeoutError):
            handler.close_connection = True
        finally:
            conn.close()
