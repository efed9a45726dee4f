"""One contract, every notifier: options, secrets, the time bound, the content.

Each test runs over the five notifier types against a real server on
loopback (an HTTP receiver, or aiosmtpd for email).
"""

from __future__ import annotations

import importlib
import logging
import socket
import time
import traceback
from dataclasses import dataclass
from typing import Any

import pytest

from pysetl.errors import ConfigError, NotificationError
from pysetl.monitoring.alerts import NOTIFIER_TYPES, AlertMessage, Notifier
from pysetl.monitoring.alerts.notifiers import (
    AlertmanagerNotifier,
    BaseNotifier,
    EmailNotifier,
    SlackNotifier,
    TeamsNotifier,
    WebhookNotifier,
)
from pysetl.utils.redaction import register_secret

# The bound that a send must keep, above its timeout: thread start and teardown.
SLACK = 0.5
CANARY = "canary-s3cret-Qx7Zp2"  # conftest's canary, planted in every URL


@dataclass(frozen=True)
class Kind:
    """How to build one notifier type against a ``host:port``."""

    name: str
    cls: type[BaseNotifier[Any]]

    @property
    def is_email(self) -> bool:
        return self.cls is EmailNotifier

    def build(self, address: str, **extra: Any) -> BaseNotifier[Any]:
        if self.is_email:
            host, port = address.rsplit(":", 1)
            options = {
                "host": host,
                "port": int(port),
                "security": "none",
                "sender": "pysetl@example.com",
                "to": ["oncall@example.com"],
            }
        else:
            options = {"url": f"http://{address}/hooks/{CANARY}"}
        return self.cls(**{**options, **extra})


KINDS = [
    Kind("webhook", WebhookNotifier),
    Kind("slack", SlackNotifier),
    Kind("teams", TeamsNotifier),
    Kind("email", EmailNotifier),
    Kind("alertmanager", AlertmanagerNotifier),
]
ids = [kind.name for kind in KINDS]


def _address(url: str) -> str:
    return url.split("://", 1)[1]


@pytest.fixture(params=KINDS, ids=ids)
def kind(request: pytest.FixtureRequest) -> Kind:
    return request.param


@pytest.fixture
def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def _delivered(kind: Kind, request: pytest.FixtureRequest, *messages: Any) -> str:
    """Send ``messages`` to a real server of ``kind``; what it received, as text."""
    if kind.is_email:
        smtp = request.getfixturevalue("smtp_plain")
        kind.build(f"{smtp.host}:{smtp.port}").send(list(messages), timeout=5)
        (parsed,) = smtp.received()
        parts = [str(parsed["Subject"])]
        parts.extend(
            part.get_content() for part in parsed.walk() if not part.is_multipart()
        )
        return "\n".join(parts)
    receiver = request.getfixturevalue("receiver")
    kind.build(_address(receiver.url)).send(list(messages), timeout=5)
    return receiver.last.body.decode()


class TestBuilding:
    def test_every_notifier_type_names_its_class(self, kind):
        module, _, name = NOTIFIER_TYPES[kind.name].partition(":")
        cls = getattr(importlib.import_module(module), name)
        assert cls is kind.cls
        assert cls.type_name == kind.name

    def test_a_notifier_is_a_notifier_named_after_its_type(self, kind):
        notifier = kind.build("127.0.0.1:9")
        assert isinstance(notifier, Notifier)
        assert notifier.name == kind.name
        assert kind.build("127.0.0.1:9", name="ops").name == "ops"

    def test_an_unknown_option_is_named(self, kind):
        with pytest.raises(ConfigError, match="'colour'") as info:
            kind.build("127.0.0.1:9", colour="red")
        assert "Extra inputs" in str(info.value)
        assert "name" in (info.value.hint or "")
        assert info.value.config == kind.cls.__name__

    def test_an_invalid_option_is_named_and_its_value_never_shown(self, kind):
        bad = {"port": f"{CANARY}"} if kind.is_email else {"url": f"ftp://{CANARY}"}
        with pytest.raises(ConfigError) as info:
            kind.build("127.0.0.1:9", **bad)
        (option,) = bad
        assert f"'{option}'" in str(info.value)
        assert CANARY not in str(info.value)
        assert CANARY not in repr(info.value.context)

    def test_the_repr_and_endpoint_show_no_secret(self, kind):
        secret = {"password": CANARY, "username": "u", "security": "starttls"}
        extra = secret if kind.is_email else {}
        notifier = kind.build("127.0.0.1:9", **extra)
        assert CANARY not in repr(notifier)
        assert CANARY not in notifier.endpoint
        assert "127.0.0.1:9" in notifier.endpoint

    def test_a_timeout_must_be_positive(self, kind, firing):
        notifier = kind.build("127.0.0.1:9")
        for timeout in (0, -1, float("nan"), float("inf")):
            with pytest.raises(ValueError, match="positive"):
                notifier.send([firing()], timeout=timeout)


class TestDelivery:
    def test_an_empty_batch_sends_nothing(self, kind, closed_port):
        kind.build(closed_port).send([], timeout=1)  # the port is closed: no attempt

    def test_a_message_carries_run_pipeline_factory_error_hint_and_link(
        self, kind, request, firing
    ):
        text = _delivered(kind, request, firing())
        for expected in (
            "01JEXAMPLE0RUN0ID",
            "orders",
            "CleanOrders",
            "FactoryError",
            "check the schema of raw.orders",
            "http://127.0.0.1:8050/runs/01JEXAMPLE0RUN0ID",
        ):
            assert expected in text, expected

    def test_a_resolved_alert_says_so(self, kind, request, resolving):
        text = _delivered(kind, request, resolving())
        if kind.cls is AlertmanagerNotifier:  # resolved = endsAt, when it resolved
            assert '"endsAt":"2025-12-03T11:00:00.250Z"' in text
        else:
            assert "resolved" in text.lower()
        assert "01JEXAMPLE0GOOD0RUN" in text

    def test_a_registered_secret_in_a_message_is_masked(self, kind, request, firing):
        """The engine's texts pass the redactor once more on their way out."""
        register_secret(f"{CANARY}-db")
        leaky = firing(
            description=f"login with {CANARY}-db failed",
            hint=f"password={CANARY}-db is wrong",
            labels={"pipeline": "orders", "api_token": "tok-123456"},
        )
        text = _delivered(kind, request, leaky)
        assert "login with" in text
        assert CANARY not in text
        assert "tok-123456" not in text


class TestFailures:
    def _failure(
        self, notifier: BaseNotifier[Any], timeout: float
    ) -> tuple[NotificationError, float]:
        alert = AlertMessage(
            key="k", rule="r", state="firing", severity="info", summary="s",
            description="d", started_at=0.0,
        )  # fmt: skip
        start = time.monotonic()
        with pytest.raises(NotificationError) as info:
            notifier.send([alert], timeout=timeout)
        return info.value, time.monotonic() - start

    def _assert_named(
        self, error: NotificationError, notifier: BaseNotifier[Any]
    ) -> None:
        assert error.notifier == notifier.name
        assert error.endpoint == notifier.endpoint
        assert notifier.endpoint in str(error)
        assert error.hint
        for shown in (str(error), error.hint, repr(error.context)):
            assert CANARY not in shown

    def test_a_server_that_never_answers_costs_one_timeout(self, kind, silent_server):
        notifier = kind.build(silent_server)
        error, took = self._failure(notifier, 0.5)
        assert 0.45 <= took < 0.5 + SLACK
        assert "no answer" in str(error)
        assert "within 0.5 s" in str(error)
        assert error.retryable
        self._assert_named(error, notifier)

    def test_a_server_that_drips_bytes_costs_one_timeout(self, kind, drip_server):
        """Each read gets a byte in time; only the send's own bound ends it."""
        notifier = kind.build(drip_server)
        error, took = self._failure(notifier, 0.5)
        assert 0.45 <= took < 0.5 + SLACK
        assert "no answer" in str(error)
        self._assert_named(error, notifier)

    def test_a_refused_connection_fails_at_once_and_says_so(self, kind, closed_port):
        notifier = kind.build(closed_port)
        error, took = self._failure(notifier, 5)
        assert took < 1
        assert "refused the connection" in str(error)
        assert "running" in (error.hint or "")
        self._assert_named(error, notifier)

    def test_a_failure_shows_no_secret_in_logs_or_its_traceback(
        self, kind, closed_port, caplog
    ):
        """The whole traceback: chained causes and the hint's note included."""
        caplog.set_level(logging.DEBUG)
        notifier = kind.build(closed_port)
        error, _ = self._failure(notifier, 5)
        shown = "".join(traceback.format_exception(error))
        assert "refused the connection" in shown
        assert "hint: " in shown
        assert CANARY not in shown
        assert CANARY not in caplog.text
