"""``WebhookNotifier``: a JSON document per batch, signed with HMAC-SHA256.

**The body** (schema ``pysetl.alerts``, version 1; ``WEBHOOK_PAYLOAD_SCHEMA``
is its JSON Schema): ``schema``, ``version``, ``id`` (unique per request),
``sent_at``, ``notifier``, ``status`` (``firing`` if any alert of the batch
fires, else ``resolved``) and ``alerts``: one object per alert with every
field of ``AlertMessage`` (``null`` when unknown; times as RFC 3339 UTC).
Fields may be added within a version; a receiver ignores the ones it does
not know. A change that removes or retypes a field bumps ``version``.

**The signature** (when the ``secret`` option is set): two headers,
``X-Pysetl-Timestamp`` (Unix seconds when it was sent) and
``X-Pysetl-Signature: v1=<hex>``, the HMAC-SHA256 under ``secret`` of the
timestamp, a dot, and the raw body bytes. A receiver recomputes it over the
bytes it received (before parsing them), compares in constant time, and
rejects a timestamp more than five minutes from its clock, so that a
captured request cannot be replayed later; ``verify_signature`` does all of
this.

Added in 0.5.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from pydantic import Field, SecretStr, field_validator

from pysetl.monitoring.alerts.notifiers._base import is_resolved
from pysetl.monitoring.alerts.notifiers._http import (
    BaseHttpNotifier,
    HttpNotifierOptions,
)
from pysetl.monitoring.alerts.notifiers._render import batch_status, iso_time
from pysetl.utils.redaction import register_secret

if TYPE_CHECKING:
    from pysetl.monitoring.alerts._notify import AlertMessage

__all__ = [
    "SIGNATURE_HEADER",
    "SIGNATURE_TOLERANCE",
    "TIMESTAMP_HEADER",
    "WEBHOOK_PAYLOAD_SCHEMA",
    "WEBHOOK_SCHEMA",
    "WEBHOOK_SCHEMA_VERSION",
    "WebhookNotifier",
    "WebhookOptions",
    "sign_payload",
    "verify_signature",
]

WEBHOOK_SCHEMA = "pysetl.alerts"
"""The ``schema`` of the webhook's body."""
WEBHOOK_SCHEMA_VERSION = 1
"""The ``version`` of the webhook's body."""
SIGNATURE_HEADER = "X-Pysetl-Signature"
"""The header with the body's signature, ``v1=<hex HMAC-SHA256>``."""
TIMESTAMP_HEADER = "X-Pysetl-Timestamp"
"""The header with the Unix time (seconds) the signature covers."""
SIGNATURE_TOLERANCE = 300.0
"""Seconds a receiver accepts between the timestamp and its own clock."""

_OPTIONAL_TEXT: dict[str, Any] = {"type": ["string", "null"]}
WEBHOOK_PAYLOAD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "pysetl alert notification, version 1",
    "type": "object",
    "required": ["schema", "version", "id", "sent_at", "notifier", "status", "alerts"],
    "properties": {
        "schema": {"const": WEBHOOK_SCHEMA},
        "version": {"const": WEBHOOK_SCHEMA_VERSION},
        "id": {"type": "string", "minLength": 1},
        "sent_at": {"type": "string", "format": "date-time"},
        "notifier": {"type": "string"},
        "status": {"enum": ["firing", "resolved"]},
        "alerts": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": [
                    "key",
                    "rule",
                    "state",
                    "severity",
                    "summary",
                    "description",
                    "labels",
                    "started_at",
                    "ended_at",
                    "run_id",
                    "pipeline",
                    "factory",
                    "error_class",
                    "hint",
                    "url",
                ],
                "properties": {
                    "key": {"type": "string"},
                    "rule": {"type": "string"},
                    "state": {"enum": ["firing", "resolved"]},
                    "severity": {"type": "string"},
                    "summary": {"type": "string"},
                    "description": {"type": "string"},
                    "labels": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                    },
                    "started_at": {"type": "string", "format": "date-time"},
                    "ended_at": {"type": ["string", "null"], "format": "date-time"},
                    "run_id": _OPTIONAL_TEXT,
                    "pipeline": _OPTIONAL_TEXT,
                    "factory": _OPTIONAL_TEXT,
                    "error_class": _OPTIONAL_TEXT,
                    "hint": _OPTIONAL_TEXT,
                    "url": _OPTIONAL_TEXT,
                },
            },
        },
    },
}
"""The JSON Schema of the webhook's body (version 1)."""

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_RESERVED = frozenset(
    {
        "authorization",
        "content-type",
        "content-length",
        "host",
        "user-agent",
        SIGNATURE_HEADER.lower(),
        TIMESTAMP_HEADER.lower(),
    }
)


def sign_payload(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Pysetl-Signature`` value of ``body`` sent at ``timestamp``.

    Args:
        secret: The shared secret (the notifier's ``secret`` option).
        timestamp: The ``X-Pysetl-Timestamp`` value, Unix seconds.
        body: The request body, as bytes.

    Returns:
        ``v1=`` and the hex HMAC-SHA256 of ``b"<timestamp>." + body``.
    """
    key = secret.encode() if isinstance(secret, str) else secret
    mac = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify_signature(
    secret: str | bytes,
    body: bytes,
    *,
    timestamp: str | None,
    signature: str | None,
    tolerance: float = SIGNATURE_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether a request to a receiver really comes from a ``WebhookNotifier``.

    Args:
        secret: The shared secret.
        body: The body as received, before any parsing.
        timestamp: The ``X-Pysetl-Timestamp`` header (``None`` if missing).
        signature: The ``X-Pysetl-Signature`` header (``None`` if missing).
        tolerance: Seconds accepted between the timestamp and ``now``.
        now: The receiver's clock (default ``time.time()``).

    Returns:
        ``True`` only if both headers are there, the timestamp is within
        ``tolerance`` of ``now``, and the signature matches (in constant time).

    Examples:
        >>> body = b'{"version":1}'
        >>> signature = sign_payload("s3cret", 1700000000, body)
        >>> verify_signature("s3cret", body, timestamp="1700000000",
        ...                  signature=signature, now=1700000060)
        True
    """
    if timestamp is None or signature is None or not timestamp.isdigit():
        return False
    sent = int(timestamp)
    clock = time.time() if now is None else now
    if abs(clock - sent) > tolerance:
        return False
    return hmac.compare_digest(sign_payload(secret, sent, body), signature.strip())


class WebhookOptions(HttpNotifierOptions):
    """The options of ``WebhookNotifier``.

    Attributes:
        secret: The HMAC key of the signature headers (none: unsigned).
        token: Sent as ``Authorization: Bearer <token>``.
        headers: More request headers (an API key...); their values are
            secrets, masked like the others.
    """

    secret: SecretStr | None = None
    token: SecretStr | None = None
    headers: dict[str, SecretStr] = Field(default_factory=dict)

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, header in value.items():
            if not _TOKEN.match(name):
                msg = f"{name!r} is not a valid header name"
                raise ValueError(msg)
            if name.lower() in _RESERVED:
                msg = (
                    f"{name!r} is set by the notifier (use the token or secret option)"
                )
                raise ValueError(msg)
            text = header.get_secret_value() if is_resolved(header) else ""
            if "\r" in text or "\n" in text:
                msg = f"the value of {name!r} must be one line"
                raise ValueError(msg)
        return value


def _alert(message: AlertMessage) -> dict[str, Any]:
    return {
        "key": message.key,
        "rule": message.rule,
        "state": message.state,
        "severity": message.severity,
        "summary": message.summary,
        "description": message.description,
        "labels": dict(message.labels),
        "started_at": iso_time(message.started_at),
        "ended_at": None if message.ended_at is None else iso_time(message.ended_at),
        "run_id": message.run_id,
        "pipeline": message.pipeline,
        "factory": message.factory,
        "error_class": message.error_class,
        "hint": message.hint,
        "url": message.url,
    }


class WebhookNotifier(BaseHttpNotifier[WebhookOptions]):
    """POSTs a versioned JSON document per batch, signed (module docstring).

    Example config (``alerts:`` section):

    ```yaml
    notifiers:
      - type: webhook
        name: ops-webhook
        url: ${secret:env:ALERT_WEBHOOK_URL}
        secret: ${secret:env:ALERT_WEBHOOK_SECRET}
    ```

    Args:
        **options: ``WebhookOptions``: ``url`` (required), ``secret``,
            ``token``, ``headers``, ``ca_file``, ``verify``, ``name``.

    Raises:
        ConfigError: An option is unknown or invalid; the message names it.
    """

    type_name = "webhook"

    def __init__(self, **options: Any) -> None:
        """Validate the options; nothing is sent yet."""
        super().__init__(WebhookOptions, options)
        for value in self.options.headers.values():
            register_secret(value)

    def _payload(self, batch: list[AlertMessage]) -> Any:
        return {
            "schema": WEBHOOK_SCHEMA,
            "version": WEBHOOK_SCHEMA_VERSION,
            "id": uuid.uuid4().hex,
            "sent_at": iso_time(time.time()),
            "notifier": self.name,
            "status": batch_status(batch),
            "alerts": [_alert(message) for message in batch],
        }

    def _headers(self, body: bytes) -> dict[str, str]:
        options = self.options
        headers = {
            name: value.get_secret_value() for name, value in options.headers.items()
        }
        if options.token is not None:
            headers["Authorization"] = f"Bearer {options.token.get_secret_value()}"
        if options.secret is not None:
            timestamp = int(time.time())
            secret = options.secret.get_secret_value()
            headers[TIMESTAMP_HEADER] = str(timestamp)
            headers[SIGNATURE_HEADER] = sign_payload(secret, timestamp, body)
        return headers
