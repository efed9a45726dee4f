"""``BaseNotifier``: what every notifier shares (options, secrets, the time bound).

A notifier is built from keyword options (``Class(**options)``), which its own
pydantic model validates; a bad option raises ``ConfigError`` naming the
option, never its value. ``send`` is a ``@final`` template: it redacts the
messages once, then runs the subclass's ``_deliver`` on a short-lived worker
thread and waits for it at most ``timeout`` seconds. Sockets time out a
second later, so that this wait is what ends a slow send, always with the
same error; when it runs out, the worker's connection is shut down (so a
server that sends one byte a second cannot hold it either) and
``NotificationError`` is raised at once. A name lookup that hangs keeps only
the worker thread, never the caller.

How to add a notifier: subclass ``BaseNotifier`` (or ``BaseHttpNotifier`` for
an HTTP API) with an options model derived from ``NotifierOptions``,
implement ``endpoint`` and ``_deliver`` (raising ``self._error(...)`` with a
hint), and add its class path to ``NOTIFIER_TYPES``.

Added in 0.5.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import socket
import ssl
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar, final

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from pysetl.errors import ConfigError, NotificationError
from pysetl.utils.redaction import redact_labels, redact_text, register_secret

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from pysetl.monitoring.alerts._notify import AlertMessage

__all__ = [
    "Aborts",
    "BaseNotifier",
    "NotifierOptions",
    "is_resolved",
    "parse_options",
    "run_bounded",
    "tls_context",
]

Aborts: TypeAlias = list[Callable[[], None]]
"""What a bounded piece of work registers to be stopped (shut its socket)."""

_T = TypeVar("_T")
# Sockets time out this much after the send's bound: the bound fires first.
_SOCKET_GRACE = 1.0


class NotifierOptions(BaseModel):
    """The options every notifier takes.

    Attributes:
        name: The notifier's name in logs, errors and alert history
            (default: its type, ``webhook``, ``slack``...).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(default=None, min_length=1, max_length=100)


_O = TypeVar("_O", bound=NotifierOptions)


def is_resolved(secret: SecretStr | None) -> bool:
    """Whether ``secret``'s value is at hand (a lazy ``${secret:...}`` is not yet)."""
    return secret is not None and getattr(secret, "is_resolved", True) is not False


def parse_options(model: type[_O], options: dict[str, Any], *, owner: str) -> _O:
    """``options`` validated by ``model``, or a ``ConfigError`` naming each bad one.

    The error never shows a value: options hold URLs, tokens and passwords.
    """
    try:
        return model(**options)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            option = ".".join(str(part) for part in error["loc"]) or "options"
            problems.append(f"{option!r}: {error['msg']}")
        msg = f"invalid options of {owner}: {'; '.join(problems)}"
        raise ConfigError(
            msg,
            hint=f"{owner} takes: {', '.join(sorted(model.model_fields))}",
            config=owner,
            errors=[
                {"loc": error["loc"], "msg": error["msg"], "type": error["type"]}
                for error in exc.errors()
            ],
        ) from None


def run_bounded(work: Callable[[Aborts], _T], timeout: float, *, name: str) -> _T:
    """``work(aborts)``'s result, or ``TimeoutError`` after ``timeout`` seconds.

    ``work`` runs on a daemon thread; it appends to ``aborts`` what stops it
    (shutting its socket down), which is called when the time runs out.
    Whatever ``work`` raises is raised here.
    """
    aborts: Aborts = []
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = work(aborts)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller as is
            outcome["error"] = exc

    worker = threading.Thread(target=target, name=name, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        for abort in aborts:
            # Already closed: the worker is ending anyway.
            with contextlib.suppress(OSError):
                abort()
        msg = f"no answer within {timeout:g} s"
        raise TimeoutError(msg)
    if "error" in outcome:
        raise outcome["error"]
    result: _T = outcome["result"]
    return result


def tls_context(ca_file: Path | None, *, verify: bool, owner: str) -> ssl.SSLContext:
    """The TLS settings of a notifier: the system's CAs or ``ca_file``'s.

    Raises:
        ConfigError: ``ca_file`` is not a PEM file of certificates.
    """
    try:
        context = ssl.create_default_context(
            cafile=None if ca_file is None else str(ca_file)
        )
    except ssl.SSLError as exc:
        msg = f"{owner}: 'ca_file' is not a PEM file of certificates ({exc.reason})"
        raise ConfigError(
            msg, hint="give a PEM file with one or more CA certificates", config=owner
        ) from None
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _redacted(message: AlertMessage) -> AlertMessage:
    """``message`` with every text masked by the process-wide redactor."""
    texts: dict[str, Any] = {
        f.name: redact_text(value)
        for f in dataclasses.fields(message)
        if isinstance(value := getattr(message, f.name), str)
    }
    return dataclasses.replace(message, labels=redact_labels(message.labels), **texts)


class BaseNotifier(ABC, Generic[_O]):
    """Delivers alert messages to one channel, within a time bound.

    Subclasses take ``**options`` and pass them, with their options model,
    to ``__init__``; they implement ``endpoint`` and ``_deliver``.

    Args:
        model: The options model (derived from ``NotifierOptions``).
        options: The keyword options the notifier was built with.

    Raises:
        ConfigError: An option is unknown, missing or invalid.

    Attributes:
        options: The validated options (secrets as ``SecretStr``).
        name: The notifier's name (option ``name``, default its type).
    """

    type_name = "notifier"
    """The notifier's ``type`` in the ``alerts:`` config."""

    def __init__(self, model: type[_O], options: dict[str, Any]) -> None:
        """Validate the options and register their secrets with the redactor."""
        self.options: _O = parse_options(model, options, owner=type(self).__name__)
        for value in self.options.__dict__.values():
            if isinstance(value, SecretStr):
                register_secret(value)
        self.name: str = self.options.name or self.type_name

    @property
    @abstractmethod
    def endpoint(self) -> str:
        """Where the notifier delivers, with credentials and secret paths masked."""

    def __repr__(self) -> str:
        """The class, the name and the masked endpoint; never a secret."""
        return f"{type(self).__name__}(name={self.name!r}, endpoint={self.endpoint!r})"

    @final
    def send(self, messages: Sequence[AlertMessage], *, timeout: float) -> None:
        """Deliver ``messages`` as one batch, or raise; returns within ``timeout``.

        Args:
            messages: The batch (one group of alerts); nothing is sent if empty.
            timeout: Seconds this call may take at most; it never retries.

        Raises:
            NotificationError: The channel refused the batch, failed, or did
                not answer in time; it names the notifier and the endpoint
                and hints at a fix.
            ValueError: ``timeout`` is not a positive number.
        """
        if not (isinstance(timeout, int | float) and math.isfinite(timeout)) or (
            timeout <= 0
        ):
            msg = f"timeout must be a positive number of seconds, got {timeout!r}"
            raise ValueError(msg)
        if not messages:
            return
        batch = [_redacted(message) for message in messages]
        try:
            run_bounded(
                lambda aborts: self._deliver(batch, timeout + _SOCKET_GRACE, aborts),
                timeout,
                name=f"pysetl-notify-{self.name}",
            )
        except NotificationError:
            raise
        except TimeoutError:
            msg = f"{self._who} got no answer from {self.endpoint} within {timeout:g} s"
            raise self._error(
                msg,
                hint=(
                    "check that the endpoint is reachable from here (host, port, "
                    "firewall); the alert engine retries with backoff"
                ),
            ) from None
        except Exception as exc:
            # A bug or a failure no _deliver foresaw: still ours, still named.
            msg = f"{self._who} failed to deliver to {self.endpoint}: {exc!r}"
            raise self._error(
                msg, hint="report it with the notifier's type and options"
            ) from exc

    @abstractmethod
    def _deliver(
        self, batch: list[AlertMessage], timeout: float, aborts: Aborts
    ) -> None:
        """Send ``batch`` (on the worker; put what shuts its socket in ``aborts``)."""

    @property
    def _who(self) -> str:
        return f"{type(self).__name__} {self.name!r}"

    def _connection_error(self, exc: OSError, where: str) -> NotificationError:
        """The error of a connection to ``where`` that failed with ``exc``."""
        who = self._who
        if isinstance(exc, ssl.SSLCertVerificationError):
            return self._error(
                f"{who} does not trust the TLS certificate of {where}: "
                f"{exc.verify_message}",
                hint=(
                    "give the CA that signed it as ca_file, or fix the server's "
                    "certificate"
                ),
                retryable=False,
            )
        if isinstance(exc, ssl.SSLError):
            return self._error(
                f"{who}: TLS with {where} failed: {exc.reason}",
                hint="check that this port speaks TLS, and the TLS options",
            )
        if isinstance(exc, ConnectionRefusedError):
            return self._error(
                f"{who}: {where} refused the connection",
                hint="is the server running and listening on that host and port?",
            )
        if isinstance(exc, socket.gaierror):
            return self._error(
                f"{who} cannot resolve the host of {where}: {exc.strerror}",
                hint="check the host name and DNS",
            )
        return self._error(
            f"{who} lost the connection to {where}: {type(exc).__name__}: {exc}",
            hint="the server closed the connection: check the host, port and TLS",
        )

    def _error(
        self,
        message: str,
        *,
        hint: str,
        status: int | None = None,
        retryable: bool = True,
    ) -> NotificationError:
        """A ``NotificationError`` of this notifier, its texts redacted."""
        return NotificationError(
            redact_text(message),
            hint=redact_text(hint),
            notifier=self.name,
            endpoint=self.endpoint,
            status=status,
            retryable=retryable,
        )
