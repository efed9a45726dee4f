"""``pysetl ui``: serve the web dashboard over the run history.

The dashboard binds 127.0.0.1 by default. Binding any other address needs a
strong token (``--token`` or ``PYSETL_UI_TOKEN``, at least 16 characters, or
``--generate-token`` for a random one, printed once): without one the
command refuses to start. Without the ``dashboard`` extra it says which
extra to install. The variable is read through ``pysetl.settings`` (never
shown in ``--help``).

With ``--alerts CONF`` it also checks the absence rules of that config's
``alerts:`` section every ``--alerts-interval`` seconds while it serves (what
``pysetl alerts watch`` does), on a thread of its own with its own, writable
handle on the history: the dashboard itself stays read-only.

As a service behind a reverse proxy: ``--workers N`` worker processes,
``--root-path /prefix`` (the proxy strips the prefix before forwarding),
``--forwarded-allow-ips`` (the proxies whose ``X-Forwarded-*`` headers are
believed); ``/healthz`` and ``/readyz`` are the liveness and readiness probes.

Added in 0.3. Changed in 0.4: ``PYSETL_UI_TOKEN`` comes from ``pysetl.settings``;
a non-loopback bind needs a strong token; ``--generate-token``. Changed in 0.5:
``--alerts``. Changed in 0.6: ``--workers``, ``--root-path``,
``--forwarded-allow-ips``.
"""

from __future__ import annotations

import importlib.util
import webbrowser
from pathlib import Path  # noqa: TC003 - typer reads the annotations at run time
from typing import Annotated
from urllib.parse import quote

import typer

from pysetl.cli._state import CliState, cli_settings, open_history_of
from pysetl.errors import DashboardError

__all__ = ["TOKEN_ENV", "require_extra", "ui"]

TOKEN_ENV = "PYSETL_UI_TOKEN"  # noqa: S105 - a variable name, not a token
_EXTRA = ("fastapi", "uvicorn")


def _token_or_setting(ctx: typer.Context, value: str | None) -> str | None:
    # The one parse of PYSETL_UI_TOKEN (pysetl.settings), not a second by click.
    return value if value is not None else cli_settings(ctx).ui_token


def require_extra() -> None:
    """Check that the ``dashboard`` extra is installed.

    Raises:
        DashboardError: fastapi or uvicorn is missing, naming the extra.
    """
    for module in _EXTRA:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a module set to None in sys.modules
            found = False
        if not found:
            msg = f"pysetl ui needs the dashboard extra ({module!r} is not installed)"
            raise DashboardError(msg, hint="pip install 'pysetl[dashboard]'")


def ui(
    ctx: typer.Context,
    *,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to bind.")
    ] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            callback=_token_or_setting,
            show_default=False,
            help="Token every request must carry; required off loopback "
            "(default: PYSETL_UI_TOKEN).",
        ),
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the dashboard in a browser.")
    ] = False,
    generate: Annotated[
        bool,
        typer.Option(
            "--generate-token",
            help="Generate a random token for this session and print it once.",
        ),
    ] = False,
    alerts: Annotated[
        Path | None,
        typer.Option(
            "--alerts",
            help="Also check the absence rules of this config folder's alerts: "
            "section while serving, recording their alerts (like pysetl alerts "
            "watch).",
        ),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            "-e",
            help="The config's environment, with --alerts (default: PYSETL_ENV).",
        ),
    ] = None,
    alerts_interval: Annotated[
        float,
        typer.Option(min=1, help="Seconds between two checks of the absence rules."),
    ] = 60.0,
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=64, help="Worker processes serving the port (a service)."
        ),
    ] = 1,
    root_path: Annotated[
        str,
        typer.Option(
            "--root-path",
            help="The prefix a reverse proxy serves the dashboard under, e.g. "
            "/pysetl (the proxy strips it before forwarding).",
        ),
    ] = "",
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            help="Proxies whose X-Forwarded-For/-Proto headers are believed "
            "(comma-separated addresses or networks; default: none).",
        ),
    ] = None,
) -> None:
    """Serve the web dashboard over the run history (read-only; see --alerts)."""
    require_extra()
    from pysetl.dashboard.server import (  # noqa: PLC0415 - needs the extra
        check_bind,
        check_forwarded_allow_ips,
        check_root_path,
        serve,
        session_token,
        worker_history_url,
    )

    token = session_token(token, generate=generate)
    check_bind(host, token)
    root = check_root_path(root_path)
    check_forwarded_allow_ips(forwarded_allow_ips)
    state = ctx.find_object(CliState)
    history_url = state.history_url if state else None
    watcher = None
    if alerts:
        from pysetl.monitoring.alerts import AlertWatcher  # noqa: PLC0415 - lazy

        watcher = AlertWatcher.open(
            alerts, env, history_url=history_url, interval=alerts_interval
        )
    history = open_history_of(ctx)

    def ready(url: str) -> None:
        typer.echo(f"pysetl dashboard: {url} (history {history.url})")
        _echo_service(workers, root)
        if generate:  # the one place it is shown: the user needs it to sign in
            typer.echo(f"generated token (shown once, not logged): {token}")
        if token:
            typer.echo(f"open {url}?token=<token> once to sign in (Ctrl+C to stop)")
        else:
            typer.echo("Ctrl+C to stop")
        if open_browser:
            # quoted: a '+' in the address would arrive as a space
            webbrowser.open(f"{url}?token={quote(token, safe='')}" if token else url)
        if watcher is not None:
            watcher.start()

    try:
        serve(
            history,
            host=host,
            port=port,
            token=token,
            on_ready=ready,
            workers=workers,
            history_url=worker_history_url(history_url) if workers > 1 else None,
            root_path=root,
            forwarded_allow_ips=forwarded_allow_ips,
        )
    finally:
        history.close()
        if watcher is not None:
            watcher.close()


def _echo_service(workers: int, root: str) -> None:
    if workers > 1:
        typer.echo(f"{workers} workers")
    if root:
        typer.echo(f"served behind a reverse proxy under {root}/")
