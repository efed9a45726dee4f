"""Fixtures of the OpenTelemetry tests: exporters, a pipeline, an OTLP/HTTP receiver.

``otlp`` is a small ``http.server`` on a free loopback port that decodes the
protobuf payloads the OTLP/HTTP exporters post (traces and logs), as a
collector would. ``silent_port`` accepts connections and never answers;
``closed_port`` refuses them. Every server is stopped in a finalizer.
"""

from __future__ import annotations

import gzip
import socket
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from pysetl.monitoring.tracing import OpenTelemetryExporter
from pysetl.workflow import Delivery, Factory, HookManager, Pipeline

_REQUESTS = {
    "/v1/traces": (
        trace_service_pb2.ExportTraceServiceRequest,
        trace_service_pb2.ExportTraceServiceResponse,
    ),
    "/v1/logs": (
        logs_service_pb2.ExportLogsServiceRequest,
        logs_service_pb2.ExportLogsServiceResponse,
    ),
}


@dataclass
class Receiver:
    """What the OTLP receiver got: decoded requests with their headers, by path."""

    url: str
    received: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def requests(self, path: str) -> list[Any]:
        with self.arrived:
            return [message for p, _, message in self.received if p == path]

    def headers(self, path: str) -> list[dict[str, str]]:
        with self.arrived:
            return [headers for p, headers, _ in self.received if p == path]

    def spans(self) -> list[Any]:
        return [
            span
            for request in self.requests("/v1/traces")
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]

    def log_records(self) -> list[Any]:
        return [
            record
            for request in self.requests("/v1/logs")
            for resource in request.resource_logs
            for scope in resource.scope_logs
            for record in scope.log_records
        ]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            kinds = _REQUESTS.get(self.path)
            if kinds is None:
                self.send_response(404)
                self.end_headers()
                return
            request, response = kinds
            message = request.FromString(body)  # the real protobuf payload
            with receiver.arrived:
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.received.append((self.path, headers, message))
                receiver.arrived.notify_all()
            payload = response().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Quiet: no line per request on stderr."""

    return Handler


@pytest.fixture
def otlp() -> Iterator[Receiver]:
    """A real OTLP/HTTP receiver on a free loopback port."""
    receiver = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture
def memory() -> InMemorySpanExporter:
    """The SDK's in-memory span exporter."""
    return InMemorySpanExporter()


@pytest.fixture
def memory_logs() -> InMemoryLogRecordExporter:
    """The SDK's in-memory log record exporter."""
    return InMemoryLogRecordExporter()


@pytest.fixture
def make_exporter() -> Iterator[Callable[..., OpenTelemetryExporter]]:
    """Build exporters that are closed at the end of the test."""
    made: list[OpenTelemetryExporter] = []

    def make(**kwargs: Any) -> OpenTelemetryExporter:
        exporter = OpenTelemetryExporter(**kwargs)
        made.append(exporter)
        return exporter

    yield make
    for exporter in made:
        exporter.close()


# ------------------------------------------------------------------ factories
class Extract(Factory[list[int]]):
    def read(self) -> Extract:
        return self

    def process(self) -> Extract:
        return self

    def write(self) -> Extract:
        return self

    def get(self) -> list[int]:
        return [1, 2, 3]


class Clean(Factory[list[int]]):
    rows = Delivery[list[int]]()

    def read(self) -> Clean:
        return self

    def process(self) -> Clean:
        return self

    def write(self) -> Clean:
        return self

    def get(self) -> list[int]:
        return [r for r in self.rows.get() if r > 1]


class Load(Factory[int]):
    rows = Delivery[list[int]](producer=Clean)

    def read(self) -> Load:
        return self

    def process(self) -> Load:
        return self

    def write(self) -> Load:
        return self

    def get(self) -> int:
        return len(self.rows.get())


@pytest.fixture
def three_stages() -> Callable[..., Pipeline]:
    """A Spark-free pipeline of three stages (Extract, Clean, Load) with observers."""

    def build(*observers: object, name: str = "shop") -> Pipeline:
        hooks = HookManager(observers=observers)
        pipeline = Pipeline(name=name, hooks=hooks)
        for factory in (Extract, Clean, Load):
            pipeline.add_stage_from_type(factory)
        return pipeline

    return build
