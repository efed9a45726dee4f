"""The dashboard's guard: read-only methods, the token, allowed hosts, headers.

One pure ASGI middleware (it does not buffer, so the live stream flows):

* only ``GET`` and ``HEAD`` reach the app; anything else is answered 405;
* with a token, every request needs ``Authorization: Bearer <token>`` or the
  ``pysetl_ui_token`` cookie; ``GET /?token=<token>`` sets that cookie
  (HttpOnly, SameSite=Strict) and redirects to ``/`` so the token leaves the
  address bar. Tokens are compared with ``hmac.compare_digest``;
* a wrong token (header, cookie or address) is logged with the client's
  address and the path, never the guess, and costs the client one try of
  its ``AuthThrottle`` bucket; a client out of tries gets ``429`` with
  ``Retry-After`` before its token is compared. A wrong cookie is also
  cleared, so a browser stops sending a stale one;
* with ``allowed_hosts``, a request whose ``Host`` header names another host
  is refused (a DNS-rebinding page cannot read a loopback dashboard);
* every answer carries a strict Content-Security-Policy, ``nosniff``, no
  referrer and no framing;
* behind a reverse proxy (``pysetl ui --root-path /pysetl``), paths are
  judged without the prefix, and the cookie and the sign-in redirect carry
  it; the cookie is ``Secure`` when the request came over HTTPS (uvicorn sets
  the scheme from ``X-Forwarded-Proto`` only for the proxies it trusts:
  ``--forwarded-allow-ips``);
* the probes (``/healthz``, ``/readyz``) answer without the token.

Added in 0.3. Changed in 0.4: wrong tokens are logged and throttled.
Changed in 0.6: the root path, ``Secure`` cookies over HTTPS, the probes.
"""

from __future__ import annotations

import hmac
import json
import logging
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from pysetl.dashboard._probes import PROBE_PATHS
from pysetl.dashboard._throttle import AuthThrottle, client_key

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Collection, MutableMapping

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]
    ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["COOKIE", "CSP", "SECURITY_HEADERS", "Guard"]

COOKIE = "pysetl_ui_token"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
_READ_ONLY = frozenset({"GET", "HEAD"})
_LOGGER = logging.getLogger(__name__)


class Guard:
    """ASGI middleware that enforces the dashboard's security rules.

    Args:
        app: The app to protect.
        token: The token every request must carry, or ``None`` for none.
        allowed_hosts: Host names (without port) the ``Host`` header may
            name, or ``None`` for any.
        throttle: The budget of wrong tokens per client (default: 10 in a
            row, then one every 2 s).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None = None,
        allowed_hosts: Collection[str] | None = None,
        throttle: AuthThrottle | None = None,
    ) -> None:
        """Wrap ``app``."""
        self.app = app
        self.token = token.encode() if token else None
        self.allowed_hosts = (
            None if allowed_hosts is None else {h.lower() for h in allowed_hosts}
        )
        self.throttle = AuthThrottle() if throttle is None else throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer refused requests here; pass the others on with our headers."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if _route_path(scope) in PROBE_PATHS and scope["method"] in _READ_ONLY:
            refused = self._refuse(scope, headers, check_token=False)
            if refused is not None:
                await _send_json(send, *refused)
                return
            await self._pass(scope, receive, send)
            return
        if self.token is not None and await self._throttled_or_login(
            scope, headers, send
        ):
            return
        refusal = self._refuse(scope, headers)
        if refusal is not None:
            await _send_json(send, *refusal)
            return
        await self._pass(scope, receive, send)

    async def _pass(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hand the request to the app, adding our headers to its answer."""
        head = scope["method"] == "HEAD"
        if head:  # answered as GET without the body (FastAPI routes only GET)
            scope = {**scope, "method": "GET"}

        async def send_with_headers(message: Message) -> None:
            """Add our headers to the answer (and drop a HEAD answer's body)."""
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            elif head:
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _throttled_or_login(
        self, scope: Scope, headers: dict[bytes, bytes], send: Send
    ) -> bool:
        """Answer a throttled client (429) or a right ``/?token=``; whether done."""
        assert self.token is not None  # noqa: S101 - checked by the caller
        wait = self.throttle.retry_after(_client(scope))
        if wait:
            await _send_json(send, *_too_many(wait))
            return True
        if _route_path(scope) != "/":
            return False
        given = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        token = given.get("token", [""])[0].encode()
        if not token or not hmac.compare_digest(token, self.token):
            return False
        if self._refuse(scope, headers, check_token=False) is not None:
            return False
        await _send_login(send, token, scope)
        return True

    def _refuse(
        self, scope: Scope, headers: dict[bytes, bytes], *, check_token: bool = True
    ) -> tuple[int, dict[str, str], list[tuple[bytes, bytes]]] | None:
        if self.allowed_hosts is not None:
            host = _host_name(headers.get(b"host", b"").decode("latin-1"))
            if host not in self.allowed_hosts:
                return (
                    400,
                    _body(
                        "bad_host",
                        f"Host {host!r} is not served by this dashboard",
                        "open the dashboard at the address 'pysetl ui' printed",
                    ),
                    [],
                )
        if scope["method"] not in _READ_ONLY:
            return (
                405,
                _body(
                    "method_not_allowed",
                    f"Method {scope['method']!r} is not allowed: the dashboard is "
                    "read-only",
                    "use GET",
                ),
                [(b"allow", b"GET, HEAD")],
            )
        if not check_token or self.token is None:
            return None
        wrong = self._wrong_credential(headers)
        if wrong is None:
            return None
        extra = [(b"www-authenticate", b"Bearer")]
        if _route_path(scope) == "/" and b"token=" in scope.get("query_string", b""):
            message, wrong = "The token in the address is wrong", "address"
        else:
            message = f"Request to {scope['path']!r} needs the dashboard's token"
        if wrong == "cookie":
            extra.append(_cookie_header(scope, "", clear=True))
        hint = (
            "open /?token=<token> once (it sets a cookie) or send "
            "'Authorization: Bearer <token>'"
        )
        if wrong:
            client = _client(scope)
            left = self.throttle.failed(client)
            # The guess itself is never logged: it may be a near-miss of the
            # token, or the token of another dashboard.
            _LOGGER.warning(
                "dashboard_token_refused client=%r path=%r credential=%s tries_left=%d",
                client,
                scope["path"],
                wrong,
                left,
            )
            hint = f"check the token ({left} more wrong tries before a wait); {hint}"
        return (401, _body("unauthorized", message, hint), extra)

    def _wrong_credential(self, headers: dict[bytes, bytes]) -> str | None:
        """``None`` when authorised, else which credential failed.

        ``""`` means none was sent (a first visit, not a guess);
        ``"bearer"`` or ``"cookie"`` names the one that was wrong.
        """
        assert self.token is not None  # noqa: S101 - checked by the caller
        wrong = ""
        auth = headers.get(b"authorization")
        if auth is not None:
            scheme, _, given = auth.partition(b" ")
            if scheme.lower() == b"bearer" and hmac.compare_digest(
                given.strip(), self.token
            ):
                return None
            wrong = "bearer"
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
        except CookieError:  # a malformed cookie header: no cookie
            return wrong
        morsel = cookie.get(COOKIE)
        if morsel is None:
            return wrong
        if hmac.compare_digest(morsel.value.encode(), self.token):
            return None
        return "cookie"


def _route_path(scope: Scope) -> str:
    """The request's path without the root path (``--root-path``) before it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root) :] or "/"
    return path


def _cookie_header(
    scope: Scope, value: str, *, clear: bool = False
) -> tuple[bytes, bytes]:
    """The token cookie for this dashboard's path; ``Secure`` over HTTPS."""
    parts = [f"{COOKIE}={value}"]
    if clear:
        parts.append("Max-Age=0")
    parts += ["HttpOnly", "SameSite=Strict", f"Path={scope.get('root_path', '')}/"]
    if scope.get("scheme") == "https":
        parts.append("Secure")
    return (b"set-cookie", "; ".join(parts).encode("latin-1"))


def _client(scope: Scope) -> str:
    """The key of the client's throttle bucket (its address or network)."""
    return client_key((scope.get("client") or (None,))[0])


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers", [])}


def _host_name(host: str) -> str:
    """The host name of a ``Host`` header, without port (IPv6 unbracketed)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _body(error: str, message: str, hint: str) -> dict[str, str]:
    return {"error": error, "message": message, "hint": hint}


def _too_many(wait: int) -> tuple[int, dict[str, str], list[tuple[bytes, bytes]]]:
    return (
        429,
        _body(
            "too_many_attempts",
            f"Too many wrong tokens from this address: try again in {wait} s",
            "check the token 'pysetl ui' was given; wait before the next try",
        ),
        [(b"retry-after", str(wait).encode())],
    )


async def _send_json(
    send: Send,
    status: int,
    body: dict[str, str],
    extra: list[tuple[bytes, bytes]],
) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"cache-control", b"no-store"),
                *extra,
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def _send_login(send: Send, token: bytes, scope: Scope) -> None:
    """Set the token cookie and send the browser to ``/`` without the token."""
    home = f"{scope.get('root_path', '')}/".encode("latin-1")
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", home),
                _cookie_header(scope, token.decode("latin-1")),
                (b"cache-control", b"no-store"),
                (b"content-length", b"0"),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})
