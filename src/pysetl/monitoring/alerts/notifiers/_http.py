"""``BaseHttpNotifier``: a notifier that POSTs one JSON document per batch.

The webhook, Slack, Teams and Alertmanager notifiers share it. The URL is a
secret (a Slack or Teams webhook URL *is* its credential): it is typed
``SecretStr``, registered with the redactor, and shown everywhere as
``scheme://host:port/**********``, its path and query masked. A URL given
as a lazy ``${secret:...}`` is resolved on the first send, within that
send's time bound.

The request is one ``POST`` over ``http.client`` (HTTP/1.1, TLS through
``ssl`` with the system's CAs or ``ca_file``); redirects are not followed,
a 2xx answer is success and anything else raises ``NotificationError``
with the status, the start of the answer and a hint.

Added in 0.5.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from abc import abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import FilePath, SecretStr, field_validator

from pysetl._version import __version__
from pysetl.errors import PySetlError
from pysetl.monitoring.alerts.notifiers._base import (
    Aborts,
    BaseNotifier,
    NotifierOptions,
    is_resolved,
    tls_context,
)
from pysetl.monitoring.alerts.notifiers._render import shorten
from pysetl.utils.redaction import MASK

if TYPE_CHECKING:
    import ssl

    from pysetl.monitoring.alerts._notify import AlertMessage

__all__ = ["BaseHttpNotifier", "HttpEndpoint", "HttpNotifierOptions", "parse_http_url"]

USER_AGENT = f"pysetl/{__version__}"
_MAX_ANSWER = 64 * 1024  # read no more of an answer than an error message needs
_SHOWN_ANSWER = 200


@dataclass(frozen=True, slots=True)
class HttpEndpoint:
    """A parsed notifier URL.

    Attributes:
        https: Whether it is ``https``.
        host: The host name or address (no brackets).
        port: The port (the scheme's default when the URL has none).
        target: The request target: path (plus ``api_path``) and query.
        shown: How to show it: ``scheme://host:port/**********`` (the path
            and query masked, ``api_path`` shown).
    """

    https: bool
    host: str
    port: int
    target: str
    shown: str


def parse_http_url(url: str, api_path: str = "") -> HttpEndpoint:
    """``url`` (plus ``api_path``) parsed, or ``ValueError`` saying what is wrong.

    The error never contains the URL: it may be a secret.
    """
    if any(c.isspace() for c in url):
        msg = "must not contain spaces or line breaks"
        raise ValueError(msg)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        msg = "must start with http:// or https://"
        raise ValueError(msg)
    if parts.username is not None or parts.password is not None:
        msg = "must not carry credentials (user:password@): use the token options"
        raise ValueError(msg)
    try:
        port = parts.port
    except ValueError:
        msg = "has an invalid port"
        raise ValueError(msg) from None
    if not parts.hostname:
        msg = "must name a host"
        raise ValueError(msg)
    path = parts.path.rstrip("/") + api_path if api_path else parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    secret_part = parts.path.strip("/") or parts.query
    shown = f"{parts.scheme}://{parts.netloc}{'/' + MASK if secret_part else ''}"
    return HttpEndpoint(
        https=parts.scheme == "https",
        host=parts.hostname,
        port=port or (443 if parts.scheme == "https" else 80),
        target=path + query,
        shown=shown + api_path,
    )


class HttpNotifierOptions(NotifierOptions):
    """The options of every HTTP notifier.

    Attributes:
        url: Where to POST (``https://...``); a secret: give it as
            ``${secret:...}``. It must not carry ``user:password@``.
        ca_file: A PEM file of the CA(s) to trust for ``https`` (default:
            the system's).
        verify: Check the server's TLS certificate and host name; turn it off
            only for a test server.
    """

    url: SecretStr
    ca_file: FilePath | None = None
    verify: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: SecretStr) -> SecretStr:
        # A lazy ${secret:...} is checked when it is resolved, on the first send.
        if is_resolved(value):
            parse_http_url(value.get_secret_value())
        return value


_H = TypeVar("_H", bound=HttpNotifierOptions)


def _shutdown(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        sock.shutdown(socket.SHUT_RDWR)


def _post(
    endpoint: HttpEndpoint,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    context: ssl.SSLContext,
    aborts: Aborts,
) -> tuple[int, str, bytes]:
    """POST ``body``; the answer's status, reason and start of its body."""
    connection = (
        http.client.HTTPSConnection(
            endpoint.host, endpoint.port, timeout=timeout, context=context
        )
        if endpoint.https
        else http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=timeout)
    )
    aborts.append(lambda: _shutdown(connection))
    try:
        connection.request("POST", endpoint.target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.reason, response.read(_MAX_ANSWER)
    finally:
        connection.close()


_CREDENTIALS = (
    "the receiver refused the credentials: check the token (or the URL, whose "
    "secret part may have been revoked)"
)
_NO_ENDPOINT = "no such endpoint: check url (a deleted webhook answers 404)"
_BUSY = "the receiver is busy or limits the rate; the engine retries later"
# The hint of an answer's status, and whether a retry may help.
_REFUSALS: dict[int, tuple[str, bool]] = {
    401: (_CREDENTIALS, False),
    403: (_CREDENTIALS, False),
    404: (_NO_ENDPOINT, False),
    405: (_NO_ENDPOINT, False),
    410: (_NO_ENDPOINT, False),
    408: (_BUSY, True),
    429: (_BUSY, True),
}


def _refusal(status: int) -> tuple[str, bool]:
    """The hint for an HTTP status that is not 2xx, and whether a retry may help."""
    if status in _REFUSALS:
        return _REFUSALS[status]
    if status < 400:  # noqa: PLR2004 - 3xx: http.client does not follow redirects
        return "the receiver redirects, and notifiers do not: give the final url", False
    if status < 500:  # noqa: PLR2004 - other 4xx
        hint = "the receiver refused the payload: is url an endpoint of this type?"
        return hint, False
    return "the receiver failed; the alert engine retries with backoff", True


class BaseHttpNotifier(BaseNotifier[_H]):
    """A notifier that POSTs one JSON document per batch (module docstring).

    Subclasses implement ``_payload`` (and may add headers in ``_headers``
    and a path after the URL in ``api_path``).
    """

    api_path: ClassVar[str] = ""
    """Appended to the URL's path (Alertmanager: ``/api/v2/alerts``)."""

    def __init__(self, model: type[_H], options: dict[str, Any]) -> None:
        """Validate the options and prepare TLS (``ca_file`` is read now)."""
        super().__init__(model, options)
        self._target: HttpEndpoint | None = None
        self._context = tls_context(
            self.options.ca_file, verify=self.options.verify, owner=type(self).__name__
        )

    @property
    def endpoint(self) -> str:
        """Where the notifier POSTs, its path and query masked."""
        if self._target is None:
            url = self.options.url
            if not is_resolved(url):
                return MASK
            try:
                self._target = parse_http_url(url.get_secret_value(), self.api_path)
            except ValueError:
                return MASK
        return self._target.shown

    def _resolve(self) -> HttpEndpoint:
        """The parsed URL, resolving a lazy secret once."""
        if self._target is not None:
            return self._target
        try:
            url = self.options.url.get_secret_value()
        except PySetlError as exc:
            msg = f"{self._who} cannot read its url: {exc}"
            raise self._error(
                msg, hint=exc.hint or "check the url's ${secret:...} reference"
            ) from exc
        try:
            self._target = parse_http_url(url, self.api_path)
        except ValueError as exc:
            msg = f"{self._who}: url {exc}"
            raise self._error(
                msg, hint="check the secret that holds the url", retryable=False
            ) from None
        return self._target

    @abstractmethod
    def _payload(self, batch: list[AlertMessage]) -> Any:
        """The JSON document that carries ``batch``."""

    def _headers(self, body: bytes) -> dict[str, str]:  # noqa: ARG002 - for subclasses
        """Extra request headers (authentication, signature) for ``body``."""
        return {}

    def _deliver(
        self, batch: list[AlertMessage], timeout: float, aborts: Aborts
    ) -> None:
        target = self._resolve()
        document = self._payload(batch)
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            **self._headers(body),
        }
        try:
            status, reason, answer = _post(
                target,
                body,
                headers,
                timeout=timeout,
                context=self._context,
                aborts=aborts,
            )
        except OSError as exc:
            raise self._connection_error(exc, target.shown) from None
        except http.client.HTTPException as exc:
            msg = (
                f"{self._who} got no valid HTTP answer from {target.shown}: "
                f"{type(exc).__name__}: {exc}"
            )
            raise self._error(
                msg, hint="check that url is an HTTP(S) endpoint of this type"
            ) from None
        if not 200 <= status < 300:  # noqa: PLR2004 - HTTP status classes
            text = shorten(
                " ".join(answer.decode("utf-8", "replace").split()), _SHOWN_ANSWER
            )
            msg = (
                f"{self._who}: {target.shown} answered HTTP {status} {reason}".rstrip()
            )
            hint, retryable = _refusal(status)
            raise self._error(
                f"{msg}: {text}" if text else msg,
                hint=hint,
                status=status,
                retryable=retryable,
            )
