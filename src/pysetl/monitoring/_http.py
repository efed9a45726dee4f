"""A ``requests`` adapter that keeps plain-HTTP connections open, for the exporters.

The OpenTelemetry and OpenLineage clients send through ``requests``, whose
default adapter (urllib3) spends about 300 us of CPU on each request to a
loopback receiver, where ``http.client`` spends about 110 us
(``benchmarks/exporter_overhead.py`` counts a dozen requests a run of the
demo). ``KeepAliveAdapter`` sends plain ``http://`` requests over
``http.client`` connections it keeps open. It extends requests'
``HTTPAdapter``, which sends the rest as before: HTTPS, a proxy, a client
certificate, a streamed response, a body that is not bytes or text.

Its answers and errors are requests' own: a ``requests.Response`` with the
status, headers, body and cookies (the session keeps them, as it does for
requests' adapter); ``ConnectionError``, ``ConnectTimeout`` or
``ReadTimeout`` when the receiver is down, slow or gone. A request is sent
once, except when a kept connection turns out to have been closed by the
receiver while it was idle (the send or the first read fails with a reset):
then it is sent again, once, on a new connection.

``kept_alive_session()`` gives a session that mounts it. Its plain requests
(a URL, a body of bytes or text, headers, a timeout) skip requests' general
preparation (about 80 us of CPU: cookies, parameters, authentication from
the URL or ``.netrc``, hooks and proxies merged): the prepared request is
the one requests would have built. Anything else goes through
``Session.request``.

Added in 0.9.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.client
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from requests import Session
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar, extract_cookies_to_jar
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ConnectTimeout, ReadTimeout
from requests.hooks import default_hooks
from requests.models import PreparedRequest, Response
from requests.structures import CaseInsensitiveDict
from requests.utils import (
    check_header_validity,
    get_encoding_from_headers,
    select_proxy,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["KeepAliveAdapter", "kept_alive_session"]

_MAX_IDLE = 4  # connections kept per receiver: one exporter sends from one thread
# A kept connection the receiver closed while idle fails like this at once.
_STALE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
_Key = tuple[str, int]


class KeepAliveAdapter(HTTPAdapter):
    """Sends plain-HTTP requests over kept ``http.client`` connections.

    What it does not send itself (HTTPS, a proxy, a client certificate, a
    stream) goes through ``HTTPAdapter``, built with the same arguments.

    Args:
        **kwargs: ``HTTPAdapter``'s (``max_retries``...), for what it sends.

    Attributes:
        opened: Connections opened so far (for tests and diagnostics).
    """

    def __init__(self, **kwargs: Any) -> None:
        """Keep no connection yet."""
        super().__init__(**kwargs)
        self.opened = 0
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def send(  # noqa: PLR0917 - requests' adapter signature
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> Response:
        """Send ``request`` on a kept connection, or through the fallback."""
        url = urlsplit(request.url or "")
        body = request.body
        if (
            url.scheme != "http"
            or not url.hostname
            or stream
            or cert
            or (proxies and select_proxy(request.url or "", proxies))
            or not isinstance(body, (bytes, str, type(None)))
            or not isinstance(timeout, (int, float, tuple, type(None)))
        ):
            return super().send(
                request,
                stream=stream,
                timeout=timeout,
                verify=verify,
                cert=cert,
                proxies=proxies,
            )
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        key = (url.hostname, url.port or 80)
        target = url.path or "/"
        if url.query:
            target += f"?{url.query}"
        headers = {k: str(v) for k, v in request.headers.items()}
        headers["Accept-Encoding"] = "identity"  # the body is handed over as read
        data = body.encode("utf-8") if isinstance(body, str) else body
        started = time.perf_counter()
        while True:
            conn, kept = self._take(key)
            try:
                if not kept:
                    self._connect(conn, connect, request)
                if conn.sock is not None:
                    conn.sock.settimeout(read)
                answer, content = _exchange(conn, request, target, data, headers)
            except _STALE as exc:
                conn.close()
                if kept:
                    continue  # closed by the receiver while idle: a fresh one
                raise RequestsConnectionError(exc, request=request) from exc
            except BaseException:
                conn.close()
                raise
            break
        if answer.will_close:
            conn.close()
        else:
            self._give_back(key, conn)
        return _response(request, answer, content, self, started)

    def _take(self, key: _Key) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop(), True
            self.opened += 1
        return http.client.HTTPConnection(key[0], key[1]), False

    def _give_back(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < _MAX_IDLE:
                idle.append(conn)
                return
        conn.close()

    @staticmethod
    def _connect(
        conn: http.client.HTTPConnection,
        timeout: float | None,
        request: PreparedRequest,
    ) -> None:
        conn.timeout = timeout
        try:
            conn.connect()
        except TimeoutError as exc:
            raise ConnectTimeout(exc, request=request) from exc
        except OSError as exc:
            raise RequestsConnectionError(exc, request=request) from exc

    def close(self) -> None:
        """Close the kept connections and ``HTTPAdapter``'s (idempotent)."""
        with self._lock:
            idle = [conn for conns in self._idle.values() for conn in conns]
            self._idle.clear()
        for conn in idle:
            conn.close()
        super().close()


def _exchange(
    conn: http.client.HTTPConnection,
    request: PreparedRequest,
    target: str,
    data: bytes | None,
    headers: dict[str, str],
) -> tuple[http.client.HTTPResponse, bytes]:
    """One request and its whole answer; errors as requests raises them."""
    try:
        conn.request(request.method or "GET", target, body=data, headers=headers)
        answer = conn.getresponse()
        return answer, answer.read()
    except _STALE:
        raise  # the caller decides: a fresh connection, or a ConnectionError
    except TimeoutError as exc:
        raise ReadTimeout(exc, request=request) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise RequestsConnectionError(exc, request=request) from exc


class _Answered:
    """The ``raw`` of a response read whole: what requests' cookie jar reads.

    requests takes ``Set-Cookie`` headers from ``raw._original_response``
    (an ``http.client`` response); the body is already in ``_content``.
    """

    def __init__(self, answer: http.client.HTTPResponse) -> None:
        self._original_response = answer

    def close(self) -> None:
        """Nothing to close: the connection went back to the adapter."""


def _response(
    request: PreparedRequest,
    answer: http.client.HTTPResponse,
    content: bytes,
    adapter: KeepAliveAdapter,
    started: float,
) -> Response:
    """The ``requests.Response`` of an answer read whole."""
    response = Response()
    response.status_code = answer.status
    response.reason = answer.reason
    response.headers = CaseInsensitiveDict(answer.getheaders())
    response.encoding = get_encoding_from_headers(response.headers)
    response._content = content  # noqa: SLF001 - read whole, as requests does
    response._content_consumed = True  # noqa: SLF001
    response.url = request.url or ""
    response.request = request
    response.connection = adapter
    response.raw = _Answered(answer)
    if answer.getheader("Set-Cookie") or answer.getheader("Set-Cookie2"):
        extract_cookies_to_jar(response.cookies, request, response.raw)  # as requests
    response.elapsed = dt.timedelta(seconds=time.perf_counter() - started)
    return response


def kept_alive_session(
    url: str,
    *,
    verify: bool | str = True,
    adapter: KeepAliveAdapter | None = None,
) -> Session:
    """A ``requests`` session for ``url`` that asks the environment once.

    requests looks up the proxies and the CA bundle in the environment at
    every request (``trust_env``); this session looks them up once, now,
    and then stops looking. Plain-HTTP requests go through a
    ``KeepAliveAdapter``.

    Args:
        url: Where the session will send (its proxy is looked up now).
        verify: Whether to check TLS certificates, or a CA bundle's path;
            ``True`` takes ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` when
            set. The result is the session's ``verify``.
        adapter: The adapter to mount for ``http://`` (default: a new one).
    """
    session = _LeanSession()
    found: dict[str, Any] = session.merge_environment_settings(
        url, {}, None, verify, None
    )
    session.trust_env = False
    session.proxies = found["proxies"]
    session.verify = found["verify"]  # True, False or the CA bundle's path
    session.mount("http://", adapter or KeepAliveAdapter())
    return session


@functools.lru_cache(maxsize=64)
def _prepared_url(url: str) -> str:
    """``url`` as requests prepares it (an exporter sends to a few URLs)."""
    prepared = PreparedRequest()
    prepared.prepare_url(url, None)
    return prepared.url or url


class _LeanSession(Session):
    """A session whose plain requests skip requests' general preparation.

    A plain request has a URL without credentials, a body of bytes or text
    (or none), headers and a timeout, on a session without cookies,
    authentication, parameters, proxies, hooks, a client certificate or the
    environment's settings (``trust_env``). Its ``PreparedRequest`` is
    built as ``Session.prepare_request`` builds it and sent by
    ``Session.send`` (the adapter, cookies, redirects). Other requests go
    through ``Session.request``.
    """

    def request(  # noqa: PLR0917 - requests' signature
        self,
        method: str,
        url: str | bytes,
        params: Any = None,
        data: Any = None,
        headers: Mapping[str, Any] | None = None,
        cookies: Any = None,
        files: Any = None,
        auth: Any = None,
        timeout: Any = None,
        allow_redirects: bool = True,
        proxies: Any = None,
        hooks: Any = None,
        stream: bool | None = None,
        verify: bool | str | None = None,
        cert: Any = None,
        json: Any = None,
    ) -> Response:
        """Send a plain request directly; the others as ``Session`` does."""
        options: dict[str, Any] = {
            "params": params,
            "cookies": cookies,
            "files": files,
            "auth": auth,
            "proxies": proxies,
            "hooks": hooks,
            "stream": stream,
            "cert": cert,
            "json": json,
        }
        if not (self._plain() and _plain_request(method, url, data, options)):
            return super().request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=timeout,
                allow_redirects=allow_redirects,
                verify=verify,
                **options,
            )
        return self.send(
            _prepare(method, str(url), data, self.headers, headers),
            timeout=timeout,
            allow_redirects=allow_redirects,
            proxies={},
            stream=False,
            verify=self.verify if verify is None else verify,
            cert=None,
        )

    def _plain(self) -> bool:
        """Whether the session adds nothing to a request but its headers."""
        return not (
            self.trust_env
            or self.auth
            or self.params
            or self.proxies
            or self.cert
            or self.stream
            or len(self.cookies)
            or any(self.hooks.values())
        )


def _plain_request(method: Any, url: Any, data: Any, options: dict[str, Any]) -> bool:
    """Whether a request is a URL, a body of bytes or text, headers and a timeout."""
    return (
        isinstance(method, str)
        and isinstance(url, str)
        and "@" not in url
        and isinstance(data, (bytes, str, type(None)))
        and options["json"] is None
        and not any(value for name, value in options.items() if name != "json")
    )


def _prepare(
    method: str,
    url: str,
    data: bytes | str | None,
    defaults: Mapping[str, Any],
    headers: Mapping[str, Any] | None,
) -> PreparedRequest:
    """The ``PreparedRequest`` requests makes of a plain request."""
    prepared = PreparedRequest()
    prepared.method = method.upper()
    prepared.url = _prepared_url(url)
    merged: CaseInsensitiveDict[Any] = CaseInsensitiveDict(defaults)
    for name, value in (headers or {}).items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    for header in merged.items():
        check_header_validity(header)
    body = data or None
    if body is not None:
        size = len(body.encode("utf-8") if isinstance(body, str) else body)
        merged["Content-Length"] = str(size)
    elif prepared.method not in {"GET", "HEAD"} and "Content-Length" not in merged:
        merged["Content-Length"] = "0"
    prepared.headers = merged
    prepared.body = body
    prepared._cookies = RequestsCookieJar()  # noqa: SLF001 - as requests sets it
    prepared.hooks = default_hooks()
    return prepared
