"""Pushing to a Pushgateway: HTTP basic auth and TLS, failures reported once.

``Pusher.push()`` never raises: a failed push is counted
(``pysetl_exporter_push_failures_total``) and reported by one WARNING per
outage (the first failure); later failures are logged at DEBUG only, and the
first push that works again is logged at INFO. Every message is redacted.

Each push waits at most ``timeout`` seconds to connect and at most
``timeout`` seconds for each read of the answer, so a Pushgateway that is
down (refused at once) or that never answers costs at most about
``timeout`` seconds per push.

Pushes to a plain-HTTP Pushgateway go over a connection kept open between
pushes (``kept_alive_session``); HTTPS and the TLS options go through
``urllib`` with their SSL context.

Added in 0.5.
"""

from __future__ import annotations

import base64
import logging
import ssl
import threading
import urllib.request
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, push_to_gateway

from pysetl.errors import ConfigError
from pysetl.monitoring._http import kept_alive_session
from pysetl.utils.redaction import redact_text, register_secret

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from requests import Session

    from pysetl.monitoring.prometheus._options import PrometheusOptions

__all__ = ["PUSH_FAILURES", "Pusher"]

PUSH_FAILURES = "pysetl_exporter_push_failures"
"""The counter of failed pushes (exposed with ``_total``)."""

_LOGGER = logging.getLogger("pysetl.monitoring.prometheus")
_OK = 400


class Pusher:
    """Pushes registries to the Pushgateway of ``options``; never raises.

    Args:
        options: The exporter's options (``pushgateway`` must be set).
        registry: Where the failure counter lives; it is pushed too.
        instance: The ``instance`` label of the groups.

    Raises:
        ConfigError: The TLS files of ``options`` cannot be loaded.

    Attributes:
        failures: Failed pushes so far.
        pushes: Pushes that worked.
    """

    def __init__(
        self, options: PrometheusOptions, registry: CollectorRegistry, instance: str
    ) -> None:
        """Prepare the handler (auth, TLS); nothing is sent yet."""
        if options.pushgateway is None:  # pragma: no cover - checked by the caller
            msg = "a Pusher needs options.pushgateway"
            raise ValueError(msg)
        self.url = options.pushgateway
        self.job = options.job
        self.timeout = options.timeout
        self.grouping = dict(options.grouping_key) | {"instance": instance}
        self.failures = 0
        self.pushes = 0
        self._down = False
        self._lock = threading.Lock()
        self._counter = Counter(
            PUSH_FAILURES,
            "Pushes of pysetl to the Pushgateway that failed (this process).",
            registry=registry,
        )
        self._headers: list[tuple[str, str]] = []
        self._session: Session | None = None
        if options.username is not None:
            password = ""  # nosec B105 - no password given: an empty one
            if options.password is not None:
                password = options.password.get_secret_value()
                register_secret(password)
            pair = f"{options.username}:{password}".encode()
            token = base64.b64encode(pair).decode("ascii")
            register_secret(token)
            self._headers.append(("Authorization", f"Basic {token}"))
        if not _wants_tls(options):
            # Plain HTTP and no TLS option: no SSL context to load (loading the
            # system's CA store takes tens of milliseconds, at every session).
            self._session = kept_alive_session(self.url)
            return
        try:
            https = _https_handler(options)
        except (OSError, ssl.SSLError) as exc:
            msg = (
                f"Cannot load the TLS files of the Pushgateway client "
                f"(ca_file={_shown(options.ca_file)}, "
                f"cert_file={_shown(options.cert_file)}, "
                f"key_file={_shown(options.key_file)}): {exc}"
            )
            raise ConfigError(
                msg, hint="give readable PEM files (a certificate and its key)"
            ) from exc
        self._opener = urllib.request.build_opener(https)

    def push(self, pipeline: str, registry: CollectorRegistry) -> bool:
        """Push ``registry`` as the group of ``pipeline``; whether it worked."""
        try:
            push_to_gateway(
                self.url,
                job=self.job,
                registry=registry,
                grouping_key=self.grouping | {"pipeline": pipeline},
                timeout=self.timeout,
                handler=self._handler,
            )
        except Exception as exc:  # noqa: BLE001 - a push never fails the run
            self._failed(exc)
            return False
        with self._lock:
            self.pushes += 1
            was_down, self._down = self._down, False
        if was_down:
            _LOGGER.info(
                "pysetl pushes to the Pushgateway %s work again (%d failed so far)",
                redact_text(self.url),
                self.failures,
            )
        return True

    def close(self) -> None:
        """Close the kept connection (idempotent); a later push opens one."""
        if self._session is not None:
            self._session.close()

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            self.failures += 1
            first, self._down = not self._down, True
        self._counter.inc()
        reason = redact_text(f"{type(exc).__name__}: {exc}")
        if first:
            _LOGGER.warning(
                "pysetl cannot push to the Pushgateway %s: %s; runs go on, and "
                "further failures are only counted (%s_total) until a push works",
                redact_text(self.url),
                reason,
                PUSH_FAILURES,
            )
        else:
            _LOGGER.debug("pysetl push failed again: %s", reason)

    def _handler(
        self,
        url: str,
        method: str,
        timeout: float | None,
        headers: Sequence[tuple[str, str]],
        data: bytes,
    ) -> Callable[[], None]:
        """What ``push_to_gateway`` calls: one request with our auth and TLS."""

        def send() -> None:
            if self._session is not None:
                answer = self._session.request(
                    method,
                    url,
                    data=data,
                    headers=dict([*headers, *self._headers]),
                    timeout=timeout,
                    allow_redirects=False,
                )
                if answer.status_code >= _OK:
                    msg = (
                        f"the Pushgateway answered {answer.status_code} "
                        f"{answer.reason}: {answer.text[:200]}"
                    )
                    raise OSError(msg)
                return
            request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - http(s) checked by the options
            for name, value in [*headers, *self._headers]:
                request.add_header(name, value)
            with self._opener.open(request, timeout=timeout) as answer:
                status: Any = answer.status
                if status >= _OK:  # pragma: no cover - urllib raises HTTPError
                    msg = f"the Pushgateway answered {status}"
                    raise OSError(msg)

        return send


def _shown(path: Path | None) -> str:
    return "None" if path is None else repr(str(path))


def _wants_tls(options: PrometheusOptions) -> bool:
    """Whether the client needs an SSL context: an https URL or a TLS option."""
    url = options.pushgateway or ""
    return url.lower().startswith("https:") or any(
        (
            options.ca_file is not None,
            options.cert_file is not None,
            options.key_file is not None,
            options.insecure_skip_verify,
        )
    )


def _https_handler(options: PrometheusOptions) -> urllib.request.HTTPSHandler:
    """An HTTPS handler with the CA, client certificate and checks of ``options``."""
    context = ssl.create_default_context(
        cafile=None if options.ca_file is None else str(options.ca_file)
    )
    if options.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if options.cert_file is not None and options.key_file is not None:
        context.load_cert_chain(str(options.cert_file), str(options.key_file))
    return urllib.request.HTTPSHandler(context=context)
