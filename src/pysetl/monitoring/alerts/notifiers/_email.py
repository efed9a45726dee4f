"""``EmailNotifier``: one email per batch over SMTP (STARTTLS or TLS, with AUTH).

The email has a plain-text part and an HTML alternative that say the same:
the batch's title as subject (after ``subject_prefix``), then for each
alert its headline, description, facts (rule, pipeline, factory, run, error
class, hint, times) and the link to the run in the dashboard.

``security`` chooses how the connection is protected: ``starttls`` (port
587 by default: plain, then upgraded; a server that does not offer
STARTTLS is an error, never a fallback to plain text), ``tls`` (port 465:
TLS from the first byte) or ``none`` (port 25, a trusted relay only; a
password is refused there, as it would cross the network in clear). The
server's certificate is checked against the system's CAs or ``ca_file``.

Added in 0.5.
"""

from __future__ import annotations

import contextlib
import html
import re
import smtplib
import socket
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, FilePath, SecretStr, field_validator, model_validator
from typing_extensions import Self

from pysetl.monitoring.alerts.notifiers._base import (
    Aborts,
    BaseNotifier,
    NotifierOptions,
    tls_context,
)
from pysetl.monitoring.alerts.notifiers._render import facts, headline, title

if TYPE_CHECKING:
    from pysetl.monitoring.alerts._notify import AlertMessage

__all__ = ["EmailNotifier", "EmailOptions"]

_AUTH_NEEDED = 530  # "Authentication required", as a reply to MAIL FROM
_DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
_ADDRESS = r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$"
_ADDRESS_RE = re.compile(_ADDRESS)
_COLOR = {"firing": "#b3261e", "resolved": "#1e7b34"}


class EmailOptions(NotifierOptions):
    """The options of ``EmailNotifier``.

    Attributes:
        host: The SMTP server.
        port: Its port (default: 587 for ``starttls``, 465 for ``tls``, 25
            for ``none``).
        security: ``starttls``, ``tls`` or ``none`` (module docstring).
        username: The login (with ``password``); none: no AUTH.
        password: The password; a secret: give it as ``${secret:...}``.
        sender: The ``From`` address.
        to: The recipients (one or more addresses).
        subject_prefix: Put before every subject.
        ca_file: A PEM file of the CA(s) to trust (default: the system's).
        verify: Check the server's certificate and host name; turn it off
            only for a test server.
    """

    host: str = Field(min_length=1, pattern=r"^[^\s/]+$")
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = Field(default=None, min_length=1)
    password: SecretStr | None = None
    sender: str = Field(pattern=_ADDRESS)
    to: list[str] = Field(min_length=1)
    subject_prefix: str = Field(default="[pysetl]", pattern=r"^[^\r\n]*$")
    ca_file: FilePath | None = None
    verify: bool = True

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for index, address in enumerate(value):
            if not _ADDRESS_RE.match(address):
                msg = f"to[{index}] is not an email address"
                raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _login(self) -> Self:
        if (self.username is None) != (self.password is None):
            msg = "username and password go together"
            raise ValueError(msg)
        if self.password is not None and self.security == "none":
            msg = (
                "a password is not sent over a plain connection: "
                "set security to starttls or tls"
            )
            raise ValueError(msg)
        return self


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _text(batch: list[AlertMessage]) -> str:
    blocks = []
    for message in batch:
        lines = [headline(message), "", message.description, ""]
        pairs = facts(message)
        if message.url:
            pairs.append(("Open run", message.url))
        width = max(len(label) for label, _ in pairs) + 1
        lines.extend(f"  {label + ':':<{width}} {value}" for label, value in pairs)
        blocks.append("\n".join(lines))
    return f"{title(batch)}\n\n" + "\n\n----\n\n".join(blocks) + "\n"


def _html(batch: list[AlertMessage]) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html><body style="font-family: sans-serif">',
        f"<h2>{e(title(batch))}</h2>",
    ]
    for message in batch:
        rows = "".join(
            f'<tr><th align="left" valign="top">{e(label)}</th><td>{e(value)}</td></tr>'
            for label, value in facts(message)
        )
        parts.extend(
            (
                "<hr>",
                (
                    f'<h3 style="color: {_COLOR[message.state]}">'
                    f"{e(headline(message))}</h3>"
                ),
                f'<p style="white-space: pre-wrap">{e(message.description)}</p>',
                f"<table>{rows}</table>",
            )
        )
        if message.url:
            parts.append(f'<p><a href="{e(message.url)}">Open run</a></p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _shutdown(client: smtplib.SMTP) -> None:
    sock = getattr(client, "sock", None)
    if sock is not None:
        sock.shutdown(socket.SHUT_RDWR)


def _reply(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    return f"{exc.smtp_code} {_one_line(text)}"


class EmailNotifier(BaseNotifier[EmailOptions]):
    """Sends one email per batch over SMTP (module docstring).

    Example config (``alerts:`` section):

    ```yaml
    notifiers:
      - type: email
        host: smtp.example.com
        username: alerts@example.com
        password: ${secret:env:SMTP_PASSWORD}
        sender: alerts@example.com
        to: [data-oncall@example.com]
    ```

    Args:
        **options: ``EmailOptions``: ``host``, ``sender`` and ``to``
            (required), ``port``, ``security``, ``username``, ``password``,
            ``subject_prefix``, ``ca_file``, ``verify``, ``name``.

    Raises:
        ConfigError: An option is unknown or invalid; the message names it.
    """

    type_name = "email"

    def __init__(self, **options: Any) -> None:
        """Validate the options and prepare TLS; nothing is sent yet."""
        super().__init__(EmailOptions, options)
        self._context = tls_context(
            self.options.ca_file, verify=self.options.verify, owner=type(self).__name__
        )

    @property
    def port(self) -> int:
        """The SMTP port (the option, or the default of ``security``)."""
        return self.options.port or _DEFAULT_PORTS[self.options.security]

    @property
    def endpoint(self) -> str:
        """``smtp://host:port`` (``smtps://`` for implicit TLS)."""
        scheme = "smtps" if self.options.security == "tls" else "smtp"
        return f"{scheme}://{self.options.host}:{self.port}"

    def compose(self, batch: list[AlertMessage]) -> EmailMessage:
        """The email of ``batch``: plain text with an HTML alternative."""
        options = self.options
        email = EmailMessage()
        email["Subject"] = _one_line(f"{options.subject_prefix} {title(batch)}")
        email["From"] = options.sender
        email["To"] = ", ".join(options.to)
        email["Date"] = formatdate(usegmt=True)
        email["Message-ID"] = make_msgid(domain=options.sender.rpartition("@")[2])
        email.set_content(_text(batch))
        email.add_alternative(_html(batch), subtype="html")
        return email

    def _deliver(
        self, batch: list[AlertMessage], timeout: float, aborts: Aborts
    ) -> None:
        email = self.compose(batch)
        options = self.options
        client = (
            smtplib.SMTP_SSL(timeout=timeout, context=self._context)
            if options.security == "tls"
            else smtplib.SMTP(timeout=timeout)
        )
        # smtplib names the TLS server (SNI, host name check) after the host
        # given to the constructor, which would also connect before the
        # connection can be registered for an abort: connect later instead.
        client._host = options.host  # type: ignore[attr-defined]  # noqa: SLF001
        aborts.append(lambda: _shutdown(client))
        try:
            self._converse(client, email)
        except smtplib.SMTPException as exc:
            raise self._smtp_error(exc) from None
        except OSError as exc:
            raise self._connection_error(exc, self.endpoint) from None
        finally:
            client.close()

    def _converse(self, client: smtplib.SMTP, email: EmailMessage) -> None:
        options = self.options
        client.connect(options.host, self.port)
        client.ehlo()
        if options.security == "starttls":
            if not client.has_extn("starttls"):
                msg = f"{self._who}: {self.endpoint} does not offer STARTTLS"
                raise self._error(
                    msg,
                    hint=(
                        "set security: tls if the server speaks TLS from the first "
                        "byte (port 465), or security: none for a trusted relay"
                    ),
                    retryable=False,
                )
            client.starttls(context=self._context)
            client.ehlo()
        if options.username is not None and options.password is not None:
            try:
                client.login(options.username, options.password.get_secret_value())
            except smtplib.SMTPAuthenticationError:
                raise
            except smtplib.SMTPException as exc:  # no AUTH, or no method we know
                msg = f"{self._who}: {self.endpoint} offers no login we can use: {exc}"
                hint = (
                    "leave username and password out for a relay that needs none; "
                    "many servers offer AUTH only after STARTTLS or over TLS"
                )
                raise self._error(msg, hint=hint, retryable=False) from None
        refused = client.send_message(email)
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()
        if refused:
            msg = (
                f"{self._who}: {self.endpoint} refused {len(refused)} of "
                f"{len(options.to)} recipients: {', '.join(sorted(refused))}"
            )
            raise self._error(msg, hint="check the addresses in to", retryable=False)

    def _smtp_error(self, exc: smtplib.SMTPException) -> Exception:
        who, where = self._who, self.endpoint
        status = getattr(exc, "smtp_code", None)
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            user = self.options.username
            msg = f"{who}: {where} refused the login of {user!r}: {_reply(exc)}"
            hint = "check username and password (some providers want an app password)"
            return self._error(msg, hint=hint, status=status, retryable=False)
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            refused = ", ".join(sorted(exc.recipients))
            msg = f"{who}: {where} refused every recipient ({refused})"
            return self._error(msg, hint="check the addresses in to", retryable=False)
        if isinstance(exc, smtplib.SMTPSenderRefused) and exc.smtp_code == _AUTH_NEEDED:
            msg = f"{who}: {where} requires a login: {_reply(exc)}"
            hint = "set username and password (give the password as ${secret:...})"
            return self._error(msg, hint=hint, status=status, retryable=False)
        if isinstance(exc, smtplib.SMTPSenderRefused):
            msg = f"{who}: {where} refused the sender {exc.sender!r}: {_reply(exc)}"
            hint = "check sender: servers often accept only their domain or the login's"
            return self._error(msg, hint=hint, status=status, retryable=False)
        if isinstance(exc, smtplib.SMTPResponseException):
            msg = f"{who}: {where} answered {_reply(exc)}"
            retryable = exc.smtp_code < 500 or exc.smtp_code >= 600  # noqa: PLR2004
            hint = "a 4xx reply is temporary (the engine retries); a 5xx one is not"
            return self._error(msg, hint=hint, status=status, retryable=retryable)
        msg = f"{who}: SMTP with {where} failed: {type(exc).__name__}: {exc}"
        return self._error(msg, hint="check host, port and security")
