"""The dashboard's guard: read-only methods, the token, allowed hosts, headers.

One pure ASGI middleware (it does not buffer, so the live stream flows):

* only ``GET`` and ``HEAD`` reach the app; anything else is answered 405;
* with a token, every request needs ``Authorization: Bearer <token>`` or the
  ``pysetl_ui_token`` cookie; ``GET /?token=<token>`` sets that cookie
  (HttpOnly, SameSite=Strict) and redirects to ``/`` so the token leaves the
  address bar. Tokens are compared with ``hmac.compare_digest``;
* with ``allowed_hosts``, a request whose ``Host`` header names another host
  is refused (a DNS-rebinding page cannot read a loopback dashboard);
* every answer carries a strict Content-Security-Policy, ``nosniff``, no
  referrer and no framing.

Added in 0.3.
"""

from __future__ import annotations

import hmac
import json
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

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


class Guard:
    """ASGI middleware that enforces the dashboard's security rules.

    Args:
        app: The app to protect.
        token: The token every request must carry, or ``None`` for none.
        allowed_hosts: Host names (without port) the ``Host`` header may
            name, or ``None`` for any.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None = None,
        allowed_hosts: Collection[str] | None = None,
    ) -> None:
        """Wrap ``app``."""
        self.app = app
        self.token = token.encode() if token else None
        self.allowed_hosts = (
            None if allowed_hosts is None else {h.lower() for h in allowed_hosts}
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer refused requests here; pass the others on with our headers."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if self.token is not None and scope["path"] == "/":
            given = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            token = given.get("token", [""])[0].encode()
            if token and hmac.compare_digest(token, self.token):
                refusal = self._refuse(scope, headers, check_token=False)
                if refusal is None:
                    await _send_login(send, token)
                    return
        refusal = self._refuse(scope, headers)
        if refusal is not None:
            await _send_json(send, *refusal)
            return

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
        if not check_token or self.token is None or self._authorised(headers):
            return None
        if scope["path"] == "/" and b"token=" in scope.get("query_string", b""):
            message = "The token in the address is wrong"
        else:
            message = f"Request to {scope['path']!r} needs the dashboard's token"
        return (
            401,
            _body(
                "unauthorized",
                message,
                "open /?token=<token> once (it sets a cookie) or send "
                "'Authorization: Bearer <token>'",
            ),
            [(b"www-authenticate", b"Bearer")],
        )

    def _authorised(self, headers: dict[bytes, bytes]) -> bool:
        assert self.token is not None  # noqa: S101 - checked by the caller
        auth = headers.get(b"authorization", b"")
        scheme, _, given = auth.partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(
            given.strip(), self.token
        ):
            return True
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
        except CookieError:  # a malformed cookie header: no cookie
            return False
        morsel = cookie.get(COOKIE)
        return morsel is not None and hmac.compare_digest(
            morsel.value.encode(), self.token
        )


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


async def _send_login(send: Send, token: bytes) -> None:
    """Set the token cookie and send the browser to ``/`` without the token."""
    cookie = (
        f"{COOKIE}={token.decode('latin-1')}; HttpOnly; SameSite=Strict; Path=/"
    ).encode("latin-1")
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", b"/"),
                (b"set-cookie", cookie),
                (b"cache-control", b"no-store"),
                (b"content-length", b"0"),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})
