"""Real Prometheus and Pushgateway servers on free loopback ports, and a pipeline.

``pushgateway`` and ``prometheus`` start Debian's ``prometheus-pushgateway``
and ``prometheus`` once per session, with temporary data folders and a
generated ``prometheus.yml`` that scrapes the gateway every second (and loads
the shipped alerting rules); ``secure_gateway`` is a second gateway behind
TLS and HTTP basic auth. Each waits for ``/-/ready`` and is stopped by its
finalizer, even when a test fails. Tests use pipeline names of their own, so
they never see each other's groups.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.servers import binary, free_port, ready_process

from pysetl.workflow import Factory

RULES_DIR = (
    Path(__file__).resolve().parents[3]
    / "src"
    / "pysetl"
    / "monitoring"
    / "prometheus"
    / "rules"
)


@dataclass
class Server:
    """A started server process and its base URL."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def get(self, path: str, **params: str) -> bytes:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=5) as answer:  # noqa: S310 - our own loopback server
            return bytes(answer.read())

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The result of an instant PromQL query (raises on a bad expression)."""
        answer = json.loads(self.get("/api/v1/query", query=promql))
        assert answer["status"] == "success", answer
        return list(answer["data"]["result"])

    def query_at(self, promql: str, at: float) -> list[dict[str, Any]]:
        """The result of ``promql`` evaluated at the Unix time ``at``."""
        answer = json.loads(self.get("/api/v1/query", query=promql, time=str(at)))
        assert answer["status"] == "success", answer
        return list(answer["data"]["result"])

    def wait_for(self, promql: str, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Poll until ``promql`` returns series, or fail at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(promql)
            if result:
                return result
            if time.monotonic() > deadline:
                pytest.fail(f"no series for {promql!r} within {timeout}s")
            time.sleep(0.2)


def _start(
    args: list[str],
    url: str,
    log: Path,
    *,
    ssl_context: Any = None,
    headers: dict[str, str] | None = None,
) -> Iterator[Server]:
    with ready_process(
        args, url, log, ssl_context=ssl_context, headers=headers
    ) as process:
        yield Server(process, url, log)


@pytest.fixture(scope="session")
def pushgateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A Pushgateway on a free 127.0.0.1 port (no persistence)."""
    folder = tmp_path_factory.mktemp("pushgateway")
    port = free_port()
    args = [
        binary("prometheus-pushgateway"),
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    yield from _start(args, f"http://127.0.0.1:{port}", folder / "log.txt")


@pytest.fixture(scope="session")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory, pushgateway: Server
) -> Iterator[Server]:
    """A Prometheus scraping ``pushgateway`` every second, with our rules loaded."""
    folder = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    target = pushgateway.url.removeprefix("http://")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES_DIR / "*.yml")],
        "scrape_configs": [
            {
                "job_name": "pushgateway",
                "honor_labels": True,
                "static_configs": [{"targets": [target]}],
            }
        ],
    }
    (folder / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    args = [
        binary("prometheus"),
        f"--config.file={folder / 'prometheus.yml'}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    yield from _start(args, f"http://127.0.0.1:{port}", folder / "log.txt")


@dataclass
class SecureGateway:
    """A Pushgateway behind TLS and basic auth, with what a client needs."""

    server: Server
    ca_file: Path
    username: str
    password: str


@pytest.fixture(scope="session")
def secure_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureGateway]:
    """A Pushgateway with a self-signed certificate for 127.0.0.1 and one user."""
    import ssl

    folder = tmp_path_factory.mktemp("secure_gateway")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(  # noqa: S603 - our own binaries, fixed arguments
        [
            binary("openssl"),
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    password = f"pw-{uuid.uuid4().hex}"
    with warnings.catch_warnings():  # crypt is deprecated, and the only bcrypt here
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))  # noqa: S324 - bcrypt, what the gateway accepts
    web = {
        "tls_server_config": {"cert_file": str(cert), "key_file": str(key)},
        "basic_auth_users": {"pysetl": hashed},
    }
    (folder / "web.yml").write_text(json.dumps(web))
    port = free_port()
    args = [
        binary("prometheus-pushgateway"),
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.config.file={folder / 'web.yml'}",
        "--log.level=warn",
    ]
    context = ssl.create_default_context(cafile=str(cert))
    url = f"https://127.0.0.1:{port}"
    token = base64.b64encode(f"pysetl:{password}".encode()).decode()
    auth = {"Authorization": f"Basic {token}"}
    for server in _start(
        args, url, folder / "log.txt", ssl_context=context, headers=auth
    ):
        yield SecureGateway(server, cert, "pysetl", password)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A URL whose server accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)  # the kernel completes handshakes; nobody reads
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def closed_port() -> str:
    """A URL on a loopback port where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def pipeline_name() -> str:
    """A pipeline name of this test only."""
    return f"p_{uuid.uuid4().hex[:10]}"


class Numbers(Factory[int]):
    """Reads nothing, makes a number."""

    def read(self) -> Numbers:
        return self

    def process(self) -> Numbers:
        self.n = 21
        return self

    def write(self) -> Numbers:
        return self

    def get(self) -> int:
        return self.n
