"""``serve``: run the dashboard with uvicorn, loopback-only unless a token is set.

Off loopback the token must be strong (``MIN_TOKEN_LENGTH`` characters, at
least ``MIN_TOKEN_DISTINCT`` different ones): ``generate_token()`` makes
one.

Added in 0.3. Changed in 0.4: a non-loopback bind needs a strong token.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
import threading
from typing import TYPE_CHECKING, Any

from pysetl.errors import DashboardError

if TYPE_CHECKING:
    from collections.abc import Callable

    from pysetl.monitoring.history._base import BaseRunHistory

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "LOOPBACK_NAMES",
    "MIN_TOKEN_DISTINCT",
    "MIN_TOKEN_LENGTH",
    "check_bind",
    "generate_token",
    "is_loopback",
    "serve",
    "token_weakness",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
"""The host names a loopback-only dashboard answers to (``Host`` header)."""
MIN_TOKEN_LENGTH = 16
"""The fewest characters of a token that guards a non-loopback bind."""
MIN_TOKEN_DISTINCT = 8
"""The fewest different characters in it (``aaaa...`` is not a secret)."""
_GENERATE_HINT = (
    'start with --generate-token, or export PYSETL_UI_TOKEN="$(python -c '
    "'import secrets; print(secrets.token_urlsafe())')\""
)


def generate_token() -> str:
    """A new random token: 43 URL-safe characters (256 bits).

    Added in 0.4.
    """
    return secrets.token_urlsafe(32)


def token_weakness(token: str) -> str | None:
    """Why ``token`` is too weak to guard a non-loopback bind, else ``None``.

    The reason counts characters; it never quotes the token.

    Added in 0.4.
    """
    if len(token) < MIN_TOKEN_LENGTH:
        return f"it has {len(token)} characters, at least {MIN_TOKEN_LENGTH} needed"
    distinct = len(set(token))
    if distinct < MIN_TOKEN_DISTINCT:
        return (
            f"it has {distinct} different characters, at least "
            f"{MIN_TOKEN_DISTINCT} needed"
        )
    return None


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) only reaches this machine."""
    name = host.strip("[]")
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(name, None)
    except OSError:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback
        for info in infos
    )


def check_bind(host: str, token: str | None) -> None:
    """Refuse to bind a non-loopback ``host`` without a strong token.

    Raises:
        DashboardError: ``host`` is reachable from other machines and no
            token, or a weak one (see ``token_weakness``), protects the
            dashboard.

    Changed in 0.4: the token must be strong.
    """
    if is_loopback(host):
        return
    if not token:
        msg = (
            f"Refusing to serve the dashboard on {host!r} without a token: "
            "other machines could read the run history"
        )
        raise DashboardError(
            msg,
            hint="pass --token (or set PYSETL_UI_TOKEN) or --generate-token, "
            "or bind 127.0.0.1",
        )
    weakness = token_weakness(token)
    if weakness is not None:
        msg = (
            f"Refusing to serve the dashboard on {host!r} with a weak token "
            f"({weakness}): other machines could guess it"
        )
        raise DashboardError(msg, hint=_GENERATE_HINT)


def serve(
    history: BaseRunHistory,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    log_level: str = "warning",
    on_ready: Callable[[str], Any] | None = None,
) -> None:
    """Serve the dashboard over ``history`` until interrupted.

    Args:
        history: The run history to show.
        host: The address to bind (loopback by default).
        port: The port to bind.
        token: Required from clients when set; needed for a non-loopback host.
        log_level: uvicorn's log level.
        on_ready: Called with the dashboard's URL once it listens.

    Raises:
        DashboardError: A non-loopback host without a token, or the
            ``dashboard`` extra is missing.
    """
    check_bind(host, token)
    try:
        import uvicorn  # noqa: PLC0415 - an optional extra

        from pysetl.dashboard.app import create_app  # noqa: PLC0415 - needs fastapi
    except ImportError as exc:
        msg = f"The dashboard needs its extra ({exc.name!r} is missing)"
        raise DashboardError(msg, hint="pip install 'pysetl[dashboard]'") from exc
    # Without a token only loopback names may reach it (DNS rebinding).
    allowed = None if token else {*LOOPBACK_NAMES, host.strip("[]").lower()}
    app = create_app(history, token=token, allowed_hosts=allowed)
    # Open pages keep their live streams open: do not wait for them on exit.
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    if on_ready is not None:
        shown = f"[{host}]" if ":" in host else host
        url = f"http://{shown}:{port}/"
        original = server.startup

        async def startup(sockets: Any = None) -> None:
            """Start as uvicorn does, then say where the dashboard listens."""
            await original(sockets=sockets)
            if server.started:
                on_ready(url)

        server.startup = startup  # type: ignore[method-assign]
    try:
        _run(server)
    except SystemExit as exc:  # uvicorn exits when it cannot bind
        if exc.code in (0, None):
            raise
        msg = f"The dashboard cannot listen on {host!r} port {port!r}"
        raise DashboardError(
            msg, hint="another program uses that port: pick one with --port"
        ) from None


def _run(server: Any) -> None:
    """``server.run()``, in a thread of its own when this one runs an event loop.

    uvicorn starts its own loop (``asyncio.run``), which a thread that already
    runs one refuses: a notebook, or an async or greenlet-driven caller
    (Playwright's sync API). There the server runs in a new thread, and this
    one waits for it; Ctrl+C here stops it.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        server.run()
        return
    failures: list[BaseException] = []

    def target() -> None:
        try:
            server.run()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            failures.append(exc)

    thread = threading.Thread(target=target, name="pysetl-ui", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.2)
    except KeyboardInterrupt:
        server.should_exit = True
        thread.join()
        raise
    if failures:
        raise failures[0]
