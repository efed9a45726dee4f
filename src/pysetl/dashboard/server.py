"""``serve``: run the dashboard with uvicorn, loopback-only unless a token is set.

Off loopback the token must be strong (``MIN_TOKEN_LENGTH`` characters, at
least ``MIN_TOKEN_DISTINCT`` different ones): ``generate_token()`` makes
one.

As a service (``pysetl ui --workers 4 --root-path /pysetl
--forwarded-allow-ips 10.0.0.5``): several worker processes share the port,
each with its own handle on the history, its own live feed poller, shared
reads and token throttle (a client's wrong tries are counted per worker);
the app lives under the reverse proxy's prefix; ``X-Forwarded-For`` and
``X-Forwarded-Proto`` are believed only from the listed proxy addresses
(none by default), and with them the client's address and HTTPS (which
makes the token cookie ``Secure``).

Added in 0.3. Changed in 0.4: a non-loopback bind needs a strong token.
Changed in 0.6: ``workers``, ``root_path``, ``forwarded_allow_ips``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import re
import secrets
import socket
import threading
from typing import TYPE_CHECKING, Any

from pysetl.errors import DashboardError

if TYPE_CHECKING:
    from collections.abc import Callable

    from pysetl.monitoring.history import BaseRunHistory

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "LOOPBACK_NAMES",
    "MIN_TOKEN_DISTINCT",
    "MIN_TOKEN_LENGTH",
    "WORKER_ENV",
    "check_bind",
    "check_forwarded_allow_ips",
    "check_root_path",
    "generate_token",
    "is_loopback",
    "serve",
    "session_token",
    "token_weakness",
    "worker_app",
    "worker_history_url",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
"""The host names a loopback-only dashboard answers to (``Host`` header)."""
MIN_TOKEN_LENGTH = 16
"""The fewest characters of a token that guards a non-loopback bind."""
MIN_TOKEN_DISTINCT = 8
"""The fewest different characters in it (``aaaa...`` is not a secret)."""
WORKER_ENV = "PYSETL_UI_WORKER"
"""Where ``serve`` tells its worker processes the history URL and hosts (JSON)."""
_ROOT_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)+")
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


def check_root_path(root_path: str) -> str:
    """``root_path`` without a trailing ``/`` if it is a path prefix, else refuse.

    Raises:
        DashboardError: It does not start with ``/``, holds characters other
            than letters, digits and ``._~-`` between its slashes, or a ``.``
            or ``..`` segment.

    Added in 0.6.
    """
    text = root_path.rstrip("/")
    dots = {".", ".."} & set(text.split("/"))
    if text and (_ROOT_PATH.fullmatch(text) is None or dots):
        msg = f"--root-path {root_path!r} is not a path prefix"
        raise DashboardError(
            msg,
            hint="give the prefix the reverse proxy serves the dashboard under, "
            "e.g. /pysetl (letters, digits and ._~- between slashes; no . or ..)",
        )
    return text


def check_forwarded_allow_ips(value: str | None) -> str | None:
    """The trusted proxies (comma-separated addresses, networks or ``*``), checked.

    Raises:
        DashboardError: An item is neither an IP address, a network nor ``*``.

    Added in 0.6.
    """
    if value is None or not value.strip():
        return None
    items = [item.strip() for item in value.split(",") if item.strip()]
    for item in items:
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            msg = f"--forwarded-allow-ips: {item!r} is not an IP address or network"
            raise DashboardError(
                msg,
                hint="list the reverse proxies' addresses, e.g. 127.0.0.1,10.0.0.0/24 "
                "('*' trusts every client: only behind a proxy that overwrites "
                "the headers)",
            ) from None
    return ",".join(items)


def session_token(token: str | None, *, generate: bool = False) -> str | None:
    """The token to serve with: ``token``, or a new one when ``generate``.

    Raises:
        DashboardError: Both a token and ``generate`` (the message never
            shows the token).

    Added in 0.7 (from ``pysetl ui``).
    """
    if not generate:
        return token
    if token:
        msg = "pysetl ui got both a token and --generate-token"
        raise DashboardError(
            msg, hint="drop --generate-token, or --token and PYSETL_UI_TOKEN"
        )
    return generate_token()


def worker_history_url(history_url: str | None = None) -> str:
    """The history's URL, unredacted, for worker processes to open it each.

    ``history_url``, else ``PYSETL_HISTORY_URL``, else the project's
    ``.pysetl/history.db`` (the history a run records into).

    Added in 0.7 (from ``pysetl ui``).
    """
    from pysetl.monitoring.history import default_history_path  # noqa: PLC0415
    from pysetl.settings import settings  # noqa: PLC0415

    return history_url or settings().history_url or str(default_history_path())


def _check_workers(workers: int, history_url: str | None) -> None:
    if workers < 1:
        msg = f"workers={workers!r}: at least one worker serves the dashboard"
        raise DashboardError(msg, hint="give --workers 1 or more")
    if workers > 1 and not history_url:
        msg = "Several workers need the history's URL to open it each"
        raise DashboardError(msg, hint="pass history_url= (pysetl ui does)")


def _allowed_hosts(host: str, token: str | None) -> set[str] | None:
    # Without a token only loopback names may reach it (DNS rebinding).
    return None if token else {*LOOPBACK_NAMES, host.strip("[]").lower()}


def worker_app() -> Any:
    """The app of one worker process of ``serve(workers=N)`` (a uvicorn factory).

    Reads the history URL and the allowed hosts from ``PYSETL_UI_WORKER``
    and the token from ``PYSETL_UI_TOKEN``, both set by ``serve`` in the
    parent; opens the history read-only.

    Added in 0.6.
    """
    from pysetl.dashboard.app import create_app  # noqa: PLC0415 - needs fastapi
    from pysetl.monitoring.history import open_history  # noqa: PLC0415
    from pysetl.settings import Settings  # noqa: PLC0415

    # A worker process is an entry point: it reads its settings once, now
    # (``serve`` set them in the environment it inherited).
    current = Settings.from_environ()
    if current.ui_worker is None:
        msg = f"{WORKER_ENV} is not set: this is not a worker of pysetl ui"
        raise DashboardError(msg, hint="start workers with pysetl ui --workers N")
    spec = json.loads(current.ui_worker)
    allowed = spec.get("allowed_hosts")
    return create_app(
        open_history(spec["history"], create=False),
        token=current.ui_token,
        allowed_hosts=None if allowed is None else set(allowed),
    )


def serve(
    history: BaseRunHistory,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    log_level: str = "warning",
    on_ready: Callable[[str], Any] | None = None,
    workers: int = 1,
    history_url: str | None = None,
    root_path: str = "",
    forwarded_allow_ips: str | None = None,
) -> None:
    """Serve the dashboard over ``history`` until interrupted.

    Args:
        history: The run history to show.
        host: The address to bind (loopback by default).
        port: The port to bind (``0``: any free one).
        token: Required from clients when set; needed for a non-loopback host.
        log_level: uvicorn's log level.
        on_ready: Called with the address it listens on (``http://host:port/``,
            without the root path) once it does.
        workers: Worker processes (``1``: this process serves ``history``).
            With more, each opens the history at ``history_url`` itself.
        history_url: The history's URL, unredacted (needed with workers).
        root_path: The prefix a reverse proxy serves the dashboard under
            (it strips it before forwarding), e.g. ``/pysetl``.
        forwarded_allow_ips: The proxies whose ``X-Forwarded-*`` headers
            are believed (comma-separated addresses or networks; ``None``:
            none).

    Raises:
        DashboardError: A non-loopback host without a token, a bad root path
            or proxy list, workers without ``history_url``, or the
            ``dashboard`` extra is missing.

    Changed in 0.6: ``workers``, ``history_url``, ``root_path``,
    ``forwarded_allow_ips``.
    """
    check_bind(host, token)
    root = check_root_path(root_path)
    trusted = check_forwarded_allow_ips(forwarded_allow_ips)
    _check_workers(workers, history_url)
    try:
        import uvicorn  # noqa: PLC0415 - an optional extra

        from pysetl.dashboard.app import create_app  # noqa: PLC0415 - needs fastapi
    except ImportError as exc:
        msg = f"The dashboard needs its extra ({exc.name!r} is missing)"
        raise DashboardError(msg, hint="pip install 'pysetl[dashboard]'") from exc
    allowed = _allowed_hosts(host, token)
    app: Any
    if workers > 1:
        # The workers are new processes: they learn what to serve from the
        # environment they inherit (the token through its usual variable).
        os.environ[WORKER_ENV] = json.dumps(
            {"history": history_url, "allowed_hosts": allowed and sorted(allowed)}
        )
        if token:
            os.environ["PYSETL_UI_TOKEN"] = token
        app = "pysetl.dashboard.server:worker_app"
    else:
        app = create_app(history, token=token, allowed_hosts=allowed)
    # Open pages keep their live streams open: do not wait for them on exit.
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=1,
        factory=workers > 1,
        workers=workers,
        root_path=root,
        proxy_headers=trusted is not None,
        forwarded_allow_ips=trusted or "127.0.0.1",
    )
    server = uvicorn.Server(config)
    shown = f"[{host}]" if ":" in host else host
    if workers > 1:
        _run_workers(config, on_ready, shown)
        return
    if on_ready is not None:
        original = server.startup

        async def startup(sockets: Any = None) -> None:
            """Start as uvicorn does, then say where the dashboard listens."""
            await original(sockets=sockets)
            if server.started:
                bound = server.servers[0].sockets[0].getsockname()[1]
                on_ready(f"http://{shown}:{bound}/")

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


def _run_workers(
    config: Any, on_ready: Callable[[str], Any] | None, shown: str
) -> None:
    """Bind the port here and serve it from ``config.workers`` processes."""
    from uvicorn.supervisors import Multiprocess  # noqa: PLC0415 - the extra

    try:
        sock = config.bind_socket()
    except SystemExit:  # uvicorn exits when it cannot bind
        msg = f"The dashboard cannot listen on {config.host!r} port {config.port!r}"
        raise DashboardError(
            msg, hint="another program uses that port: pick one with --port"
        ) from None
    if on_ready is not None:
        on_ready(f"http://{shown}:{sock.getsockname()[1]}/")
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()


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
