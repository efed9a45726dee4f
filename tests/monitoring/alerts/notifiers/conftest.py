"""Real servers on free loopback ports for the notifiers' tests.

* ``receiver`` / ``tls_receiver``: an HTTP(S) server that records every
  request (method, path, headers, body) and answers what the test says;
* ``silent_server``: accepts connections (the kernel's backlog) and never
  answers; ``drip_server``: answers one byte every 0.1 s, forever;
* ``smtp_starttls`` / ``smtp_tls`` / ``smtp_plain``: aiosmtpd servers with
  STARTTLS and AUTH, with TLS from the first byte and AUTH, and without
  either, each recording the messages it accepts;
* ``alertmanager``: Debian's ``prometheus-alertmanager`` with a null
  receiver, clustering off and a temporary storage folder.

The TLS servers use a CA and a ``localhost``/``127.0.0.1`` certificate made
in a temporary folder (``tls_files``). Every server is stopped by its
finalizer, even when a test fails.
"""

from __future__ import annotations

import datetime as dt
import email
import email.message
import email.policy
import gc
import ipaddress
import json
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tests.servers import binary, free_port, ready_process

from pysetl.monitoring.alerts import AlertMessage

CANARY = "canary-s3cret-Qx7Zp2"
"""A planted secret: it must never show in a repr, an error, a log or a payload."""
SMTP_USER = "alerts"
SMTP_PASSWORD = f"{CANARY}-smtp"
STARTED = 1_764_756_000.25  # 2025-12-03T10:00:00.250Z


def message(**changes: Any) -> AlertMessage:
    """A firing alert of a failed factory, with every field set."""
    fields: dict[str, Any] = {
        "key": "factory_failed|pipeline=orders|factory=CleanOrders",
        "rule": "factory_failed",
        "state": "firing",
        "severity": "critical",
        "summary": "CleanOrders failed in pipeline orders",
        "description": "CleanOrders raised FactoryError after 3 attempts.",
        "labels": {"pipeline": "orders", "factory": "CleanOrders"},
        "started_at": STARTED,
        "run_id": "01JEXAMPLE0RUN0ID",
        "pipeline": "orders",
        "factory": "CleanOrders",
        "error_class": "FactoryError",
        "hint": "check the schema of raw.orders",
        "url": "http://127.0.0.1:8050/runs/01JEXAMPLE0RUN0ID",
    }
    fields.update(changes)
    return AlertMessage(**fields)


def resolved(**changes: Any) -> AlertMessage:
    """The same alert, resolved by a later good run."""
    base: dict[str, Any] = {
        "state": "resolved",
        "ended_at": STARTED + 3600,
        "run_id": "01JEXAMPLE0GOOD0RUN",
        "summary": "CleanOrders succeeds again in pipeline orders",
        "description": "The run 01JEXAMPLE0GOOD0RUN finished successfully.",
        "error_class": None,
        "hint": None,
        "url": "http://127.0.0.1:8050/runs/01JEXAMPLE0GOOD0RUN",
    }
    base.update(changes)
    return message(**base)


@pytest.fixture
def canary() -> str:
    """A planted secret: it must never show in a repr, an error, a log or a payload."""
    return CANARY


@pytest.fixture
def firing() -> Callable[..., AlertMessage]:
    """Builds a firing alert (``firing(summary=...)`` changes fields)."""
    return message


@pytest.fixture
def resolving() -> Callable[..., AlertMessage]:
    """Builds the same alert, resolved."""
    return resolved


# ------------------------------------------------------------------ TLS files
@dataclass(frozen=True)
class TlsFiles:
    """A CA and a server certificate for ``localhost`` and ``127.0.0.1``."""

    ca: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    folder = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("pysetl test CA"))
        .issuer_name(_name("pysetl test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


# ------------------------------------------------------------- HTTP receivers
@dataclass
class Captured:
    """One request a receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A loopback HTTP(S) server that records requests and answers as told."""

    url: str
    requests: list[Captured] = field(default_factory=list)
    status: int = 200
    answer: bytes = b"ok"

    def reply(self, status: int, answer: bytes = b"") -> None:
        self.status, self.answer = status, answer

    @property
    def last(self) -> Captured:
        assert self.requests, "the receiver got no request"
        return self.requests[-1]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            receiver.requests.append(Captured("POST", self.path, headers, body))
            self.send_response(receiver.status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(receiver.answer)))
            self.end_headers()
            self.wfile.write(receiver.answer)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            """Quiet: the test reads ``requests``."""

    return Handler


def _serve(context: ssl.SSLContext | None) -> Iterator[Receiver]:
    port = free_port()
    scheme = "https" if context else "http"
    receiver = Receiver(url=f"{scheme}://127.0.0.1:{port}")
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(receiver))
    server.daemon_threads = True
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from _serve(None)


@pytest.fixture
def tls_receiver(tls_files: TlsFiles) -> Iterator[Receiver]:
    yield from _serve(tls_files.server_context())


@pytest.fixture
def silent_server() -> Iterator[str]:
    """``127.0.0.1:port`` of a server that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)  # the kernel completes the handshakes; nobody reads
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@pytest.fixture
def drip_server() -> Iterator[str]:
    """``127.0.0.1:port`` of a server that sends one byte every 0.1 s, forever.

    No single read ever waits long, so a per-read timeout alone never fires.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def drip(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                while not stop.wait(0.1):
                    conn.sendall(b"2")
            except OSError:
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


# ---------------------------------------------------------------------- SMTP
class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        content = envelope.content or b""
        if b"TEMPFAIL" in content:
            return "451 4.3.0 Try again later"
        if b"REJECT" in content:
            return "554 5.6.0 Message rejected"
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    async def handle_MAIL(
        self,
        server: Any,
        session: Any,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if address.startswith("spoofed@"):
            return "553 5.7.1 Sender address rejected"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: Any,
        session: Any,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    good = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER.encode()
        and auth_data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=good, handled=False)


@dataclass
class SmtpServer:
    """A running aiosmtpd server and what it received."""

    host: str
    port: int
    inbox: Inbox
    user: str = SMTP_USER
    password: str = SMTP_PASSWORD

    def received(self) -> list[email.message.EmailMessage]:
        """The messages accepted so far, parsed."""
        found = []
        for envelope in self.inbox.envelopes:
            assert isinstance(envelope.content, bytes)
            parsed = email.message_from_bytes(
                envelope.content, policy=email.policy.default
            )
            assert isinstance(parsed, email.message.EmailMessage)
            found.append(parsed)
        return found


def _smtp(**kwargs: Any) -> Iterator[SmtpServer]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, inbox)
    finally:
        controller.stop()
        # aiosmtpd closes its event loop with the transports of sessions the
        # client ended abruptly still open; their ResourceWarnings would
        # surface in whichever later test the garbage collector runs in.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


@pytest.fixture
def smtp_starttls(tls_files: TlsFiles) -> Iterator[SmtpServer]:
    """STARTTLS required before AUTH, AUTH required before mail."""
    yield from _smtp(
        tls_context=tls_files.server_context(),
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
        auth_require_tls=True,
    )


@pytest.fixture
def smtp_tls(tls_files: TlsFiles) -> Iterator[SmtpServer]:
    """TLS from the first byte (SMTPS), AUTH required.

    aiosmtpd counts only STARTTLS as TLS for ``auth_require_tls``; this
    session is TLS from its first byte, so the check is off.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
        yield from _smtp(
            ssl_context=tls_files.server_context(),
            authenticator=_authenticator,
            auth_required=True,
            auth_require_tls=False,
        )


@pytest.fixture
def smtp_starttls_no_auth(tls_files: TlsFiles) -> Iterator[SmtpServer]:
    """STARTTLS offered, no AUTH at all."""
    yield from _smtp(
        tls_context=tls_files.server_context(),
        auth_exclude_mechanism=["LOGIN", "PLAIN"],
    )


@pytest.fixture
def smtp_plain() -> Iterator[SmtpServer]:
    """No TLS and no AUTH: a trusted relay."""
    yield from _smtp()


# --------------------------------------------------------------- Alertmanager
ALERTMANAGER_CONFIG = """\
route:
  receiver: "null"
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: "null"
"""


@dataclass
class Alertmanager:
    """A running Alertmanager and its base URL."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def alerts(self, **params: str) -> list[dict[str, Any]]:
        """``GET /api/v2/alerts`` (active, silenced, inhibited, unprocessed)."""
        query = "&".join(f"{k}={v}" for k, v in params.items())
        url = f"{self.url}/api/v2/alerts" + (f"?{query}" if query else "")
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - our own loopback server
            return list(json.loads(answer.read()))

    def wait_for(
        self,
        check: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 15.0,
        **params: str,
    ) -> list[dict[str, Any]]:
        """Poll ``alerts()`` until ``check`` holds, or fail at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.alerts(**params)
            if check(found):
                return found
            if time.monotonic() > deadline:
                pytest.fail(f"Alertmanager's alerts never matched: {found}")
            time.sleep(0.1)


@pytest.fixture(scope="session")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alertmanager]:
    folder = tmp_path_factory.mktemp("alertmanager")
    config = folder / "alertmanager.yml"
    config.write_text(ALERTMANAGER_CONFIG)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / "alertmanager.log"
    args = [
        binary("prometheus-alertmanager"),
        f"--config.file={config}",
        f"--storage.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with ready_process(args, url, log) as process:
        yield Alertmanager(process, url, log)
