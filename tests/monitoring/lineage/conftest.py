"""Fixtures of the lineage tests: a loopback OpenLineage receiver and the spec's schema.

``receiver`` is a real HTTP server on a free 127.0.0.1 port that records every
POST (path, headers, JSON body), like a lineage backend; ``silent_port`` is a
port that accepts connections and never answers; ``closed_port`` refuses them.
``validate_event`` checks one event against the vendored OpenLineage JSON
schemas (``spec/``; see ``spec/NOTICE.md``), offline.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

from pysetl.utils.writer import BackgroundWriter

SPEC = Path(__file__).parent / "spec"
CORE_ID = "https://openlineage.io/spec/2-0-0/OpenLineage.json"
# The core versions the facet schemas point at; their Run/Job/Dataset facet
# definitions are the 2-0-0 ones (see spec/NOTICE.md).
CORE_ALIASES = (
    "https://openlineage.io/spec/2-0-2/OpenLineage.json",
    "https://openlineage.io/spec/1-0-2/OpenLineage.json",
)
# The facet key each vendored facet schema describes.
FACET_FILES = {
    "parent": "ParentRunFacet-1-2-0.json",
    "jobType": "JobTypeJobFacet-2-0-4.json",
    "errorMessage": "ErrorMessageRunFacet-1-0-0.json",
    "schema": "SchemaDatasetFacet-1-0-0.json",
    "tags": "TagsRunFacet-2-0-3.json",  # added by the client itself
}


def _offline(uri: str) -> Resource[Any]:
    raise NoSuchResource(ref=uri)  # never fetched: everything is vendored


def _registry() -> tuple[Registry[Any], dict[str, dict[str, Any]]]:
    core = json.loads((SPEC / "OpenLineage-2-0-0.json").read_text())
    registry: Registry[Any] = Registry(retrieve=_offline)  # type: ignore[call-arg]
    core_resource = Resource.from_contents(core)
    registry = registry.with_resource(CORE_ID, core_resource)
    for alias in CORE_ALIASES:
        registry = registry.with_resource(alias, core_resource)
    facets = {}
    for key, name in FACET_FILES.items():
        schema = json.loads((SPEC / "facets" / name).read_text())
        facets[key] = schema
        resource = Resource.from_contents(schema)
        registry = registry.with_resource(schema["$id"], resource)
        # The core schema's relative "facets/<Name>.json" references.
        facet_name = name.rsplit("-", 3)[0]
        relative = f"https://openlineage.io/spec/2-0-0/facets/{facet_name}.json"
        registry = registry.with_resource(relative, resource)
    return registry, facets


class EventValidator:
    """Validates whole events (core schema) and each of their facets (its schema)."""

    def __init__(self) -> None:
        self.registry, self.facets = _registry()
        checker = Draft202012Validator.FORMAT_CHECKER
        # Our events are RunEvents (their schemaURL says so). The 2-0-0 root's
        # oneOf cannot tell a RunEvent from a JobEvent (a later version fixed
        # that), so each event is checked against the RunEvent definition.
        run_event = {"$ref": f"{CORE_ID}#/$defs/RunEvent"}
        self.core = Draft202012Validator(
            run_event, registry=self.registry, format_checker=checker
        )
        self.by_facet = {
            key: Draft202012Validator(
                schema, registry=self.registry, format_checker=checker
            )
            for key, schema in self.facets.items()
        }

    def __call__(self, event: dict[str, Any]) -> None:
        assert event["schemaURL"].endswith("/OpenLineage.json#/$defs/RunEvent")
        self.core.validate(event)
        self._facets(event["run"].get("facets", {}))
        self._facets(event["job"].get("facets", {}))
        for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
            self._facets(dataset.get("facets", {}))

    def _facets(self, facets: dict[str, Any]) -> None:
        for key, facet in facets.items():
            validator = self.by_facet.get(key)
            assert validator is not None, f"no vendored schema for facet {key!r}"
            validator.validate({key: facet})


@pytest.fixture(scope="session")
def validate_event() -> EventValidator:
    return EventValidator()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    """What a loopback OpenLineage backend received."""

    url: str
    events: list[Received] = field(default_factory=list)
    status: int = 200
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The bodies received, once there are ``count`` (or after ``timeout``)."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.events) >= count, timeout)
            return [event.body for event in self.events]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            with receiver.arrived:
                receiver.events.append(Received(self.path, dict(self.headers), body))
                receiver.arrived.notify_all()
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Receiver("")))
    host, port = server.server_address[:2]
    recorded = Receiver(f"http://{host}:{port}")
    server.RequestHandlerClass = _handler(recorded)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorded
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose server accepts connections (the kernel does) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def writer() -> Iterator[BackgroundWriter]:
    """The observers' writer thread of one test, closed after it."""
    background = BackgroundWriter(flush_interval=0.01)
    try:
        yield background
    finally:
        background.close(5)
